import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  checkUsernameAvailability,
  getLoginFlows,
  getTokenOwner,
  login,
  logout,
  logoutAll,
  refresh,
  register,
} from '../../protocol/endpoints/accounts.js';
import { APPSERVICE_LOGIN_TYPE, type AccountService, type Requester, type SessionTokens } from '../../users/index.js';
import { MatrixError } from '../../protocol/index.js';
import { accessTokenOf } from '../plumbing/auth.js';
import { route } from '../plumbing/route.js';

/** The spec's names for a session's tokens; the refresh token and lifetime only when there are some. */
function tokensJson(tokens: SessionTokens) {
  return {
    access_token: tokens.accessToken,
    ...(tokens.refreshToken === undefined ? {} : { refresh_token: tokens.refreshToken }),
    ...(tokens.expiresInMs === undefined ? {} : { expires_in_ms: tokens.expiresInMs }),
  };
}

/**
 * The application service a /register or /login request comes from. Asked for its type without an
 * as_token: M_MISSING_TOKEN, or M_UNKNOWN_TOKEN when the token given is not an application service's.
 */
function appServiceOf(requester: Requester | null, type: string | undefined, request: FastifyRequest): string | undefined {
  if (requester?.appservice !== undefined) return requester.appservice.id;
  if (type !== APPSERVICE_LOGIN_TYPE) return undefined;
  let token: string | undefined;
  try {
    token = accessTokenOf(request);
  } catch {
    token = undefined;
  }
  if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', `${APPSERVICE_LOGIN_TYPE} needs the application service's as_token (Authorization: Bearer ...)`);
  throw new MatrixError('M_UNKNOWN_TOKEN', `The access token is not an application service's as_token`);
}

/** Registration, login, logout, refresh and whoami: each handler unpacks, calls the accounts service, shapes. */
export function accountRoutes(accounts: AccountService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, register, async ({ query, body, requester, request }) => {
      const result = await accounts.register({
        kind: query.kind,
        type: body.type,
        appservice: appServiceOf(requester, body.type, request),
        username: body.username,
        password: body.password,
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        inhibitLogin: body.inhibit_login,
        refreshToken: body.refresh_token,
        auth: body.auth,
        guestAccessToken: body.guest_access_token,
      });
      return result.accessToken === undefined
        ? { user_id: result.userId }
        : { user_id: result.userId, device_id: result.deviceId, ...tokensJson({ ...result, accessToken: result.accessToken }) };
    });

    route(app, checkUsernameAvailability, async ({ query }) => ({ available: await accounts.available(query.username) }));

    route(app, getLoginFlows, () => ({
      flows: accounts.loginFlows().map((flow) => ({
        type: flow.type,
        ...(flow.getLoginToken ? { get_login_token: true } : {}),
        ...(flow.identityProviders ? { identity_providers: flow.identityProviders.map((idp) => ({ ...idp })) } : {}),
      })),
    }));

    route(app, login, async ({ body, requester, request }) => {
      const session = await accounts.login({
        type: body.type,
        appservice: appServiceOf(requester, body.type, request),
        identifier: body.identifier,
        user: body.user,
        medium: body.medium,
        address: body.address,
        password: body.password,
        token: body.token,
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        refreshToken: body.refresh_token,
      });
      return { user_id: session.userId, device_id: session.deviceId, ...tokensJson(session) };
    });

    route(app, refresh, async ({ body }) => tokensJson(await accounts.refresh(body.refresh_token)));

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
      ...(requester.deviceId === null ? {} : { device_id: requester.deviceId }),
      is_guest: requester.isGuest,
    }));
  };
}
