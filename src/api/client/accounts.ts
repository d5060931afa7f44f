import type { FastifyInstance } from 'fastify';
import {
  checkUsernameAvailability,
  getLoginFlows,
  getTokenOwner,
  login,
  logout,
  logoutAll,
  register,
} from '../../protocol/endpoints/accounts.js';
import type { AccountService } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Registration, login, logout and whoami: each handler unpacks, calls the accounts service, shapes. */
export function accountRoutes(accounts: AccountService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, register, async ({ query, body }) => {
      const result = await accounts.register({
        kind: query.kind,
        username: body.username,
        password: body.password,
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        inhibitLogin: body.inhibit_login,
        auth: body.auth,
      });
      return result.accessToken === undefined
        ? { user_id: result.userId }
        : { user_id: result.userId, access_token: result.accessToken, device_id: result.deviceId };
    });

    route(app, checkUsernameAvailability, async ({ query }) => ({ available: await accounts.available(query.username) }));

    route(app, getLoginFlows, () => ({ flows: accounts.loginTypes().map((type) => ({ type })) }));

    route(app, login, async ({ body }) => {
      const session = await accounts.login({
        type: body.type,
        identifier: body.identifier,
        user: body.user,
        password: body.password,
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
      });
      return { user_id: session.userId, access_token: session.accessToken, device_id: session.deviceId };
    });

    route(app, logout, async ({ requester }) => {
      await accounts.logout(requester);
      return {};
    });

    route(app, logoutAll, async ({ requester }) => {
      await accounts.logoutAll(requester);
      return {};
    });

    route(app, getTokenOwner, ({ requester }) => ({
      user_id: requester.userId,
      device_id: requester.deviceId,
      is_guest: requester.isGuest,
    }));
  };
}
