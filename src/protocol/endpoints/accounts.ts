import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/**
 * Registration, login, logout, refresh, whoami, password change and deactivation (client-server API,
 * "Account registration and management", "Login").
 */

/** Synapse refuses longer passwords, so no client sends one. */
const Password = Type.String({ maxLength: 512 });

/** The user-interactive auth dict: `type` and `session`, plus what the stage needs. */
export const AuthDict = Type.Object(
  { type: Type.Optional(Type.String()), session: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

/** POST /register: create an account (behind user-interactive auth) and, unless inhibited, log it in. */
export const register = defineEndpoint({
  name: 'register',
  method: 'POST',
  ...clientV3('/register'),
  // Application services register their users with their as_token (and are not limited unless they ask).
  auth: 'optional-appservice',
  rateLimit: 'registration',
  query: Type.Object({ kind: Type.Union([Type.Literal('user'), Type.Literal('guest')], { default: 'user' }) }),
  body: Type.Object({
    // m.login.application_service: an application service's registration.
    type: Type.Optional(Type.String()),
    auth: Type.Optional(AuthDict),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Password),
    device_id: Type.Optional(Type.String()),
    initial_device_display_name: Type.Optional(Type.String()),
    inhibit_login: Type.Optional(Type.Boolean()),
    refresh_token: Type.Optional(Type.Boolean()),
    // Guest access module: a guest upgrading to a full account keeps its user id.
    guest_access_token: Type.Optional(Type.String()),
  }),
  response: Type.Object({
    user_id: Type.String(),
    access_token: Type.Optional(Type.String()),
    device_id: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.String()),
    expires_in_ms: Type.Optional(Type.Integer()),
  }),
});

/** GET /register/available: whether a username could be registered now. */
export const checkUsernameAvailability = defineEndpoint({
  name: 'checkUsernameAvailability',
  method: 'GET',
  ...clientV3('/register/available'),
  auth: 'none',
  rateLimit: 'registration',
  query: Type.Object({ username: Type.String() }),
  response: Type.Object({ available: Type.Boolean() }),
});

/** GET /login: the login types this server accepts. */
export const getLoginFlows = defineEndpoint({
  name: 'getLoginFlows',
  method: 'GET',
  ...clientV3('/login'),
  auth: 'none',
  response: Type.Object({
    flows: Type.Array(
      Type.Object(
        {
          type: Type.String(),
          get_login_token: Type.Optional(Type.Boolean()),
          identity_providers: Type.Optional(
            Type.Array(Type.Object({ id: Type.String(), name: Type.String(), brand: Type.Optional(Type.String()), icon: Type.Optional(Type.String()) })),
          ),
        },
        { additionalProperties: true },
      ),
    ),
  }),
});

/** POST /login: a new device and access token for a user who proves who they are. */
export const login = defineEndpoint({
  name: 'login',
  method: 'POST',
  ...clientV3('/login'),
  auth: 'optional-appservice',
  rateLimit: 'login',
  body: Type.Object({
    type: Type.String(),
    identifier: Type.Optional(Type.Object({ type: Type.String(), user: Type.Optional(Type.String()) }, { additionalProperties: true })),
    user: Type.Optional(Type.String()),
    // The deprecated top-level form of an m.id.thirdparty identifier.
    medium: Type.Optional(Type.String()),
    address: Type.Optional(Type.String()),
    password: Type.Optional(Password),
    // m.login.token's token.
    token: Type.Optional(Type.String()),
    device_id: Type.Optional(Type.String()),
    initial_device_display_name: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.Boolean()),
  }),
  response: Type.Object({
    user_id: Type.String(),
    access_token: Type.String(),
    device_id: Type.String(),
    refresh_token: Type.Optional(Type.String()),
    expires_in_ms: Type.Optional(Type.Integer()),
  }),
});

/**
 * POST /login/get_token: a single-use, short-lived m.login.token token for another device, confirmed with
 * the password every time (user-interactive auth). Counted as a login: the spec asks for a strict limit.
 */
export const generateLoginToken = defineEndpoint({
  name: 'generateLoginToken',
  method: 'POST',
  path: '/_matrix/client/v1/login/get_token',
  auth: 'user',
  rateLimit: 'login',
  body: Type.Object({ auth: Type.Optional(AuthDict) }),
  response: Type.Object({ login_token: Type.String(), expires_in_ms: Type.Integer() }),
});

/** POST /logout: the access token stops working and its device is deleted. */
export const logout = defineEndpoint({
  name: 'logout',
  method: 'POST',
  ...clientV3('/logout'),
  auth: 'user',
  response: Type.Object({}),
});

/** POST /logout/all: every access token and device of the user. */
export const logoutAll = defineEndpoint({
  name: 'logout_all',
  method: 'POST',
  ...clientV3('/logout/all'),
  auth: 'user',
  response: Type.Object({}),
});

/** GET /account/whoami: who the access token belongs to. */
export const getTokenOwner = defineEndpoint({
  name: 'getTokenOwner',
  method: 'GET',
  ...clientV3('/account/whoami'),
  auth: 'user',
  response: Type.Object({ user_id: Type.String(), device_id: Type.Optional(Type.String()), is_guest: Type.Boolean() }),
});

/** POST /refresh: a new access token (and refresh token) for an expiring session. */
export const refresh = defineEndpoint({
  name: 'refresh',
  method: 'POST',
  ...clientV3('/refresh'),
  auth: 'none',
  rateLimit: 'login',
  body: Type.Object({ refresh_token: Type.String() }),
  response: Type.Object({
    access_token: Type.String(),
    refresh_token: Type.Optional(Type.String()),
    expires_in_ms: Type.Optional(Type.Integer()),
  }),
});

/**
 * POST /account/password: set a new password, confirmed with the old one (user-interactive auth); or,
 * without an access token, reset a forgotten one by proving an email address on the account.
 */
export const changePassword = defineEndpoint({
  name: 'changePassword',
  method: 'POST',
  ...clientV3('/account/password'),
  auth: 'optional-user',
  rateLimit: 'login',
  body: Type.Object({
    new_password: Password,
    logout_devices: Type.Optional(Type.Boolean()),
    auth: Type.Optional(AuthDict),
  }),
  response: Type.Object({}),
});

/** POST /account/deactivate: close the account for good, confirmed with the password. */
export const deactivateAccount = defineEndpoint({
  name: 'deactivateAccount',
  method: 'POST',
  ...clientV3('/account/deactivate'),
  auth: 'user',
  rateLimit: 'login',
  body: Type.Object({
    auth: Type.Optional(AuthDict),
    id_server: Type.Optional(Type.String()),
    erase: Type.Optional(Type.Boolean()),
  }),
  response: Type.Object({ id_server_unbind_result: Type.Union([Type.Literal('success'), Type.Literal('no-support')]) }),
});

/** The paths of the /account/3pid endpoints: v3 and r0, and the unstable prefix sytest and old clients use. */
const threepidPaths = (path: string) => {
  const { path: v3, aliases } = clientV3(path);
  return { path: v3, aliases: [...aliases, `/_matrix/client/unstable${path}`] };
};
const UnbindResultReply = Type.Object({ id_server_unbind_result: Type.Union([Type.Literal('success'), Type.Literal('no-support')]) });
const ThreepidTarget = Type.Object({
  id_server: Type.Optional(Type.String({ minLength: 1 })),
  medium: Type.String({ minLength: 1 }),
  address: Type.String({ minLength: 1 }),
});

/** POST /account/3pid/bind: bind an identifier the user validated with an identity server to the account there. */
export const bindThreepid = defineEndpoint({
  name: 'bind3PID',
  method: 'POST',
  ...threepidPaths('/account/3pid/bind'),
  auth: 'user',
  body: Type.Object({
    client_secret: Type.String({ minLength: 1, maxLength: 255, pattern: '^[0-9a-zA-Z.=_-]+$' }),
    id_server: Type.String({ minLength: 1 }),
    id_access_token: Type.String({ minLength: 1 }),
    sid: Type.String({ minLength: 1, maxLength: 255 }),
  }),
  response: Type.Object({}),
});

/** POST /account/3pid/unbind: undo a binding at an identity server (the one named, or where it was made). */
export const unbindThreepid = defineEndpoint({
  name: 'unbind3pidFromAccount',
  method: 'POST',
  ...threepidPaths('/account/3pid/unbind'),
  auth: 'user',
  body: ThreepidTarget,
  response: UnbindResultReply,
});

/** POST /account/3pid/delete: remove an identifier from the account, unbinding it too. */
export const deleteThreepid = defineEndpoint({
  name: 'delete3pidFromAccount',
  method: 'POST',
  ...threepidPaths('/account/3pid/delete'),
  auth: 'user',
  body: ThreepidTarget,
  response: UnbindResultReply,
});

const ClientSecret = Type.String({ minLength: 1, maxLength: 255, pattern: '^[0-9a-zA-Z.=_-]+$' });

const EmailTokenRequest = Type.Object({
    client_secret: ClientSecret,
    email: Type.String({ minLength: 1 }),
    send_attempt: Type.Integer({ minimum: 0 }),
    next_link: Type.Optional(Type.String()),
    // Asked for by older clients: Hearth mails the link itself and asks no identity server.
    id_server: Type.Optional(Type.String()),
    id_access_token: Type.Optional(Type.String()),
  });

/**
 * POST .../email/requestToken: mail a validation link. The spec asks no access token for any of them: the
 * session proves the address, and what it is used for proves the rest.
 */
function emailTokenEndpoint<N extends string>(name: N, path: string, rateLimit: 'login' | 'registration') {
  return defineEndpoint({
    name,
    method: 'POST',
    ...threepidPaths(path),
    auth: 'none',
    rateLimit,
    body: EmailTokenRequest,
    response: Type.Object({ sid: Type.String() }),
  });
}

/** An address to add to the account. */
export const requestEmailTokenForAccount = emailTokenEndpoint('requestTokenTo3PIDEmail', '/account/3pid/email/requestToken', 'login');
/** An address on an account, to reset its password. */
export const requestEmailTokenForPassword = emailTokenEndpoint('requestTokenToResetPasswordEmail', '/account/password/email/requestToken', 'login');
/** An address to register with. */
export const requestEmailTokenForRegistration = emailTokenEndpoint('requestTokenToRegisterEmail', '/register/email/requestToken', 'registration');

/**
 * POST .../msisdn/requestToken: text a validation code to a phone number. Hearth sends no text messages, so
 * each answers M_THREEPID_MEDIUM_NOT_SUPPORTED (the body is not read).
 */
function msisdnTokenEndpoint<N extends string>(name: N, path: string, rateLimit: 'login' | 'registration') {
  return defineEndpoint({ name, method: 'POST', ...threepidPaths(path), auth: 'none', rateLimit, response: Type.Object({ sid: Type.String() }) });
}

export const requestMsisdnTokenForAccount = msisdnTokenEndpoint('requestTokenTo3PIDMSISDN', '/account/3pid/msisdn/requestToken', 'login');
export const requestMsisdnTokenForPassword = msisdnTokenEndpoint('requestTokenToResetPasswordMSISDN', '/account/password/msisdn/requestToken', 'login');
export const requestMsisdnTokenForRegistration = msisdnTokenEndpoint('requestTokenToRegisterMSISDN', '/register/msisdn/requestToken', 'registration');

/** GET /account/3pid: the addresses on the account. */
export const getAccountThreepids = defineEndpoint({
  name: 'getAccount3PIDs',
  method: 'GET',
  ...threepidPaths('/account/3pid'),
  auth: 'user',
  response: Type.Object({
    threepids: Type.Array(Type.Object({ medium: Type.String(), address: Type.String(), validated_at: Type.Integer(), added_at: Type.Integer() })),
  }),
});

/** POST /account/3pid/add: add a validated address to the account, confirmed with the password. */
export const addThreepid = defineEndpoint({
  name: 'add3PID',
  method: 'POST',
  ...threepidPaths('/account/3pid/add'),
  auth: 'user',
  body: Type.Object({ client_secret: ClientSecret, sid: Type.String({ minLength: 1, maxLength: 255 }), auth: Type.Optional(AuthDict) }),
  response: Type.Object({}),
});

/** POST /account/3pid (deprecated since v1.1): add a validated address, without user-interactive auth. */
export const addThreepidLegacy = defineEndpoint({
  name: 'post3PIDs',
  method: 'POST',
  ...threepidPaths('/account/3pid'),
  auth: 'user',
  body: Type.Object({
    three_pid_creds: Type.Object({
      client_secret: ClientSecret,
      sid: Type.String({ minLength: 1, maxLength: 255 }),
      id_server: Type.Optional(Type.String()),
      id_access_token: Type.Optional(Type.String()),
    }),
    bind: Type.Optional(Type.Boolean()),
  }),
  response: Type.Object({}),
});

/** GET the validation link mailed by requestToken (Hearth's own page, like Synapse's). */
export const validateEmailLink = defineEndpoint({
  name: 'validateEmailLink',
  method: 'GET',
  path: '/_hearth/client/email/validate',
  auth: 'none',
  query: Type.Object({ sid: Type.String(), client_secret: Type.String(), token: Type.String() }),
  response: Type.Unsafe<unknown>({ description: 'An HTML page saying whether the address was validated.' }),
});
