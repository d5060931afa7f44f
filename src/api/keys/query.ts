import type { FastifyInstance } from 'fastify';
import { bulkQueryServerKeys, queryServerKeys, queryServerKeysById } from '../../protocol/endpoints/keys.js';
import type { Keyring, NotaryCriteria } from '../../federation/index.js';
import { route } from '../plumbing/route.js';

/**
 * This server as a notary (GET /_matrix/key/v2/query/{serverName}, POST /_matrix/key/v2/query): other
 * servers' signed key publications, countersigned. Unauthenticated, as the spec has it.
 */
export function keyQueryRoutes(keyring: Pick<Keyring, 'notaryQuery'>) {
  return async (app: FastifyInstance): Promise<void> => {
    // GET names no key (its deprecated form names one, but its answer holds all the server's keys).
    route(app, queryServerKeys, async ({ params, query }) => ({
      server_keys: await keyring.notaryQuery({ [params.serverName]: anyKey(query.minimum_valid_until_ts) }),
    }));
    route(app, queryServerKeysById, async ({ params, query }) => ({
      server_keys: await keyring.notaryQuery({ [params.serverName]: anyKey(query.minimum_valid_until_ts) }),
    }));
    route(app, bulkQueryServerKeys, async ({ body }) => {
      const criteria: Record<string, NotaryCriteria> = {};
      for (const [serverName, keys] of Object.entries(body.server_keys)) {
        criteria[serverName] = { keys: Object.fromEntries(Object.entries(keys).map(([keyId, k]) => [keyId, k.minimum_valid_until_ts])) };
      }
      return { server_keys: await keyring.notaryQuery(criteria) };
    });
  };
}

function anyKey(minimum: number | undefined): NotaryCriteria {
  return minimum === undefined ? { keys: {} } : { keys: {}, minimum };
}
