import type { FastifyInstance } from 'fastify';
import type { CrossSigning, KeysService } from '../../e2ee/index.js';
import {
  claimKeys,
  getKeysChanges,
  queryKeys,
  uploadCrossSigningKeys,
  uploadCrossSigningSignatures,
  uploadKeys,
} from '../../protocol/endpoints/e2ee-keys.js';
import type { SyncService } from '../../sync/index.js';
import { route } from '../plumbing/route.js';

/** The key management API: each handler unpacks, calls the keys, cross-signing or sync service, shapes. */
export function e2eeKeyRoutes(keys: KeysService, crossSigning: CrossSigning, sync: SyncService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, uploadKeys, ({ requester, body }) => keys.upload(requester, body));

    route(app, queryKeys, ({ requester, body }) => keys.query(requester, body.device_keys, body.timeout));

    route(app, claimKeys, ({ body }) => keys.claim(body.one_time_keys, body.timeout));

    route(app, getKeysChanges, ({ requester, query }) => sync.keyChanges(requester, query.from, query.to));

    route(app, uploadCrossSigningKeys, async ({ requester, body }) => {
      await crossSigning.upload(requester, body);
      return {};
    });

    route(app, uploadCrossSigningSignatures, ({ requester, body }) => crossSigning.uploadSignatures(requester, body));
  };
}
