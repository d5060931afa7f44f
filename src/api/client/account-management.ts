import type { FastifyInstance } from 'fastify';
import { changePassword, deactivateAccount } from '../../protocol/endpoints/accounts.js';
import type { AccountManagement } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Password change and deactivation: each handler unpacks, calls the service, shapes. */
export function accountManagementRoutes(management: AccountManagement) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, changePassword, async ({ requester, body }) => {
      await management.changePassword(requester, body.new_password, body.logout_devices ?? true, body.auth);
      return {};
    });

    route(app, deactivateAccount, async ({ requester, body }) => {
      await management.deactivate(requester, body.auth, body.erase === true);
      // No identity server bindings are kept, so there is nothing to unbind.
      return { id_server_unbind_result: 'no-support' as const };
    });
  };
}
