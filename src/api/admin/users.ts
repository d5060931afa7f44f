import type { FastifyInstance } from 'fastify';
import { adminDeactivateUser, adminGetUser, adminListUsers, adminPutUser, adminResetPassword } from '../../protocol/endpoints/synapse-admin.js';
import type { AccountManagement, AccountThreepids, AdminUsers, ThreepidBindings } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Synapse's admin API for users' accounts: details, deactivation (with erasure) and password resets, for server admins. */
export function adminUserRoutes(
  management: AccountManagement,
  users: AdminUsers | undefined,
  threepids: { readonly bindings: ThreepidBindings; readonly account: AccountThreepids } | null = null,
) {
  return async (app: FastifyInstance): Promise<void> => {
    if (users) {
      route(app, adminGetUser, ({ requester, params }) => users.user(requester, params.userId));
      route(app, adminPutUser, async ({ requester, params, body, reply }) => {
        const { user, created } = await users.upsert(requester, params.userId, {
          password: body.password,
          logoutDevices: body.logout_devices,
          displayname: body.displayname,
          avatarUrl: body.avatar_url,
          admin: body.admin,
          deactivated: body.deactivated,
          locked: body.locked,
          approved: body.approved,
          userType: body.user_type,
          threepids: body.threepids,
          externalIds: body.external_ids,
        });
        if (created) void reply.code(201);
        return user;
      });
      route(app, adminListUsers, ({ requester, query }) => users.list(requester, {
        from: query.from ?? 0,
        limit: query.limit ?? 100,
        guests: query.guests ?? true,
        deactivated: query.deactivated ?? false,
        ...(query.name === undefined ? {} : { name: query.name }),
        ...(query.user_id === undefined ? {} : { userId: query.user_id }),
      }));
    }

    route(app, adminDeactivateUser, async ({ requester, params, body }) => {
      await management.adminDeactivate(requester, params.userId, body.erase === true);
      // As the user's own deactivation: the addresses leave the account, and those bound through this server are unbound.
      if (threepids === null) return { id_server_unbind_result: 'success' as const };
      await threepids.account.removeAll(params.userId);
      return { id_server_unbind_result: await threepids.bindings.unbindAll(params.userId) };
    });

    route(app, adminResetPassword, async ({ requester, params, body }) => {
      await management.adminResetPassword(requester, params.userId, body.new_password, body.logout_devices ?? true);
      return {};
    });
  };
}
