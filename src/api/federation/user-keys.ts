import type { FastifyInstance } from 'fastify';
import type { FederationKeys } from '../../e2ee/index.js';
import { claimUserEncryptionKeys, getUserDevices, queryUserEncryptionKeys } from '../../protocol/endpoints/federation-keys.js';
import { federationRoute } from './auth.js';

/** What other servers ask of this server's users' devices and keys. */
export function federationKeyRoutes(keys: FederationKeys) {
  return async (app: FastifyInstance): Promise<void> => {
    federationRoute(app, getUserDevices, ({ params }) => keys.userDevices(params.userId));
    federationRoute(app, queryUserEncryptionKeys, ({ body }) => keys.query(body.device_keys));
    federationRoute(app, claimUserEncryptionKeys, ({ body }) => keys.claim(body.one_time_keys));
  };
}
