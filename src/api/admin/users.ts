import type { FastifyInstance } from 'fastify';
import { adminDeactivateUser, adminResetPassword } from '../../protocol/endpoints/synapse-admin.js';
import type { AccountManagement } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Synapse's admin API for users' accounts: deactivation (with erasure) and password resets, for server admins. */
export function adminUserRoutes(management: AccountManagement) {
  return async (app: FastifyInstance): Promise<void> => {
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
