import type { FastifyInstance } from 'fastify';
import { changePassword, deactivateAccount } from '../../protocol/endpoints/accounts.js';
import type { AccountManagement, ThreepidBindings } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Password change and deactivation: each handler unpacks, calls the service, shapes. */
export function accountManagementRoutes(management: AccountManagement, threepids: ThreepidBindings | null = null) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, changePassword, async ({ requester, body }) => {
      await management.changePassword(requester, body.new_password, body.logout_devices ?? true, body.auth);
      return {};
    });

    route(app, deactivateAccount, async ({ requester, body }) => {
      await management.deactivate(requester, body.auth, body.erase === true);
      // The account is closed; its identifiers bound through this server are unbound (or at id_server).
      const result = threepids === null ? 'no-support' : await threepids.unbindAll(requester.userId, body.id_server);
      return { id_server_unbind_result: result };
    });
  };
}
