import type { FastifyInstance } from 'fastify';
import { bulkQueryServerKeys, queryServerKeys, queryServerKeysById } from '../../protocol/endpoints/keys.js';
import type { Keyring } from '../../federation/index.js';
import { route } from '../plumbing/route.js';

/**
 * This server as a notary (GET /_matrix/key/v2/query/{serverName}, POST /_matrix/key/v2/query): other
 * servers' signed key publications, countersigned. Unauthenticated, as the spec has it.
 */
export function keyQueryRoutes(keyring: Pick<Keyring, 'notaryQuery'>) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, queryServerKeys, async ({ params, query }) => ({
      server_keys: await keyring.notaryQuery({ [params.serverName]: query.minimum_valid_until_ts }),
    }));
    route(app, queryServerKeysById, async ({ params, query }) => ({
      server_keys: await keyring.notaryQuery({ [params.serverName]: query.minimum_valid_until_ts }),
    }));
    route(app, bulkQueryServerKeys, async ({ body }) => {
      const criteria: Record<string, number | undefined> = {};
      for (const [serverName, keys] of Object.entries(body.server_keys)) {
        // Several key ids: the answer must satisfy the most demanding one.
        const minimums = Object.values(keys).map((k) => k.minimum_valid_until_ts).filter((ts): ts is number => ts !== undefined);
        criteria[serverName] = minimums.length === 0 ? undefined : Math.max(...minimums);
      }
      return { server_keys: await keyring.notaryQuery(criteria) };
    });
  };
}
