import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/** Registration, login, logout and whoami (client-server API, "Account registration and management", "Login"). */

const v3 = (path: string) => ({ path: `/_matrix/client/v3${path}`, aliases: [`/_matrix/client/r0${path}`] });

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
  ...v3('/register'),
  auth: 'none',
  rateLimit: 'registration',
  query: Type.Object({ kind: Type.Union([Type.Literal('user'), Type.Literal('guest')], { default: 'user' }) }),
  body: Type.Object({
    auth: Type.Optional(AuthDict),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Password),
    device_id: Type.Optional(Type.String()),
    initial_device_display_name: Type.Optional(Type.String()),
    inhibit_login: Type.Optional(Type.Boolean()),
    refresh_token: Type.Optional(Type.Boolean()),
  }),
  response: Type.Object({
    user_id: Type.String(),
    access_token: Type.Optional(Type.String()),
    device_id: Type.Optional(Type.String()),
  }),
});

/** GET /register/available: whether a username could be registered now. */
export const checkUsernameAvailability = defineEndpoint({
  name: 'checkUsernameAvailability',
  method: 'GET',
  ...v3('/register/available'),
  auth: 'none',
  rateLimit: 'registration',
  query: Type.Object({ username: Type.String() }),
  response: Type.Object({ available: Type.Boolean() }),
});

/** GET /login: the login types this server accepts. */
export const getLoginFlows = defineEndpoint({
  name: 'getLoginFlows',
  method: 'GET',
  ...v3('/login'),
  auth: 'none',
  response: Type.Object({ flows: Type.Array(Type.Object({ type: Type.String() }, { additionalProperties: true })) }),
});

/** POST /login: a new device and access token for a user who proves who they are. */
export const login = defineEndpoint({
  name: 'login',
  method: 'POST',
  ...v3('/login'),
  auth: 'none',
  rateLimit: 'login',
  body: Type.Object({
    type: Type.String(),
    identifier: Type.Optional(Type.Object({ type: Type.String(), user: Type.Optional(Type.String()) }, { additionalProperties: true })),
    user: Type.Optional(Type.String()),
    password: Type.Optional(Password),
    device_id: Type.Optional(Type.String()),
    initial_device_display_name: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.Boolean()),
  }),
  response: Type.Object({ user_id: Type.String(), access_token: Type.String(), device_id: Type.String() }),
});

/** POST /logout: the access token stops working and its device is deleted. */
export const logout = defineEndpoint({
  name: 'logout',
  method: 'POST',
  ...v3('/logout'),
  auth: 'user',
  response: Type.Object({}),
});

/** POST /logout/all: every access token and device of the user. */
export const logoutAll = defineEndpoint({
  name: 'logout_all',
  method: 'POST',
  ...v3('/logout/all'),
  auth: 'user',
  response: Type.Object({}),
});

/** GET /account/whoami: who the access token belongs to. */
export const getTokenOwner = defineEndpoint({
  name: 'getTokenOwner',
  method: 'GET',
  ...v3('/account/whoami'),
  auth: 'user',
  response: Type.Object({ user_id: Type.String(), device_id: Type.String(), is_guest: Type.Boolean() }),
});
