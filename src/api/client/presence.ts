import type { FastifyInstance } from 'fastify';
import type { PresenceService } from '../../ephemeral/index.js';
import { getPresence, setPresence } from '../../protocol/endpoints/presence.js';
import { route } from '../plumbing/route.js';

/** Presence: set one's own, read one's own or that of users sharing a room. */
export function presenceRoutes(presence: PresenceService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, setPresence, async ({ params, body, requester }) => {
      await presence.setPresence(requester, params.userId, body.presence, body.status_msg);
      return {};
    });

    route(app, getPresence, ({ params, requester }) => presence.getPresence(requester, params.userId));
  };
}
