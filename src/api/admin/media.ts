import type { FastifyInstance } from 'fastify';
import type { MediaQuarantine } from '../../media/index.js';
import { adminQuarantineMedia, adminQuarantineRoomMedia, adminQuarantineUserMedia, adminUnquarantineMedia } from '../../protocol/endpoints/synapse-admin.js';
import { route } from '../plumbing/route.js';

/** Synapse's admin API for media: quarantine (and lift it) by id, by room and by uploader, for server admins. */
export function adminMediaRoutes(quarantine: MediaQuarantine) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, adminQuarantineMedia, async ({ requester, params }) => {
      await quarantine.quarantineOne(requester, params.serverName, params.mediaId);
      return {};
    });
    route(app, adminUnquarantineMedia, async ({ requester, params }) => {
      await quarantine.unquarantineOne(requester, params.serverName, params.mediaId);
      return {};
    });
    route(app, adminQuarantineRoomMedia, async ({ requester, params }) => ({
      num_quarantined: await quarantine.quarantineRoom(requester, params.roomId),
    }));
    route(app, adminQuarantineUserMedia, async ({ requester, params }) => ({
      num_quarantined: await quarantine.quarantineUser(requester, params.userId),
    }));
  };
}
