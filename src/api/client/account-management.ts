import type { FastifyInstance } from 'fastify';
import { changePassword, deactivateAccount } from '../../protocol/endpoints/accounts.js';
import type { AccountManagement, AccountThreepids, ThreepidBindings } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Password change and deactivation: each handler unpacks, calls the service, shapes. */
export function accountManagementRoutes(
  management: AccountManagement,
  threepids: { readonly bindings: ThreepidBindings; readonly account: AccountThreepids } | null = null,
) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, changePassword, async ({ requester, body }) => {
      // Without an access token: a forgotten password, reset by email.
      await management.changePassword(requester ?? null, body.new_password, body.logout_devices ?? true, body.auth);
      return {};
    });

    route(app, deactivateAccount, async ({ requester, body }) => {
      await management.deactivate(requester, body.auth, body.erase === true);
      // The account is closed; its addresses leave it, and those bound through this server are unbound (or at id_server).
      if (threepids === null) return { id_server_unbind_result: 'no-support' as const };
      await threepids.account.removeAll(requester.userId);
      return { id_server_unbind_result: await threepids.bindings.unbindAll(requester.userId, body.id_server) };
    });
  };
}
