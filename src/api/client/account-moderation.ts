import type { FastifyInstance } from 'fastify';
import { getAdminLockUser, getAdminSuspendUser, setAdminLockUser, setAdminSuspendUser } from '../../protocol/endpoints/admin.js';
import type { AccountModeration } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** GET and PUT /admin/lock/{userId} and /admin/suspend/{userId}: unpack, ask the moderation service, shape. */
export function accountModerationRoutes(moderation: AccountModeration) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getAdminLockUser, async ({ requester, params }) => ({ locked: await moderation.status(requester, params.userId, 'locked') }));
    route(app, setAdminLockUser, async ({ requester, params, body }) => ({ locked: await moderation.set(requester, params.userId, 'locked', body.locked) }));
    route(app, getAdminSuspendUser, async ({ requester, params }) => ({ suspended: await moderation.status(requester, params.userId, 'suspended') }));
    route(app, setAdminSuspendUser, async ({ requester, params, body }) => ({
      suspended: await moderation.set(requester, params.userId, 'suspended', body.suspended),
    }));
  };
}
