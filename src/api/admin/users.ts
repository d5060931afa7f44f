import type { FastifyInstance } from 'fastify';
import { adminDeactivateUser, adminGetUser, adminResetPassword } from '../../protocol/endpoints/synapse-admin.js';
import type { AccountManagement, AdminUsers } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Synapse's admin API for users' accounts: details, deactivation (with erasure) and password resets, for server admins. */
export function adminUserRoutes(management: AccountManagement, users: AdminUsers | undefined) {
  return async (app: FastifyInstance): Promise<void> => {
    if (users) route(app, adminGetUser, ({ requester, params }) => users.user(requester, params.userId));

    route(app, adminDeactivateUser, async ({ requester, params, body }) => {
      await management.adminDeactivate(requester, params.userId, body.erase === true);
      return { id_server_unbind_result: 'success' as const };
    });

    route(app, adminResetPassword, async ({ requester, params, body }) => {
      await management.adminResetPassword(requester, params.userId, body.new_password, body.logout_devices ?? true);
      return {};
    });
  };
}
