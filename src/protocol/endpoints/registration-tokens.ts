import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/**
 * Registration tokens: the client's validity check (client-server API, "Token-authenticated
 * registration") and Synapse's admin API to manage them. The admin endpoints take a user's access token;
 * the service refuses callers who are not server admins.
 */

/** GET /_matrix/client/v1/register/m.login.registration_token/validity: may this token be used now? */
export const registrationTokenValidity = defineEndpoint({
  name: 'registrationTokenValidity',
  method: 'GET',
  path: '/_matrix/client/v1/register/m.login.registration_token/validity',
  auth: 'none',
  rateLimit: 'registration',
  query: Type.Object({ token: Type.String() }),
  response: Type.Object({ valid: Type.Boolean() }),
});

const ADMIN = '/_synapse/admin/v1/registration_tokens';

/** A token as Synapse's admin API shows it. */
export const RegistrationToken = Type.Object({
  token: Type.String(),
  uses_allowed: Type.Union([Type.Integer(), Type.Null()]),
  pending: Type.Integer(),
  completed: Type.Integer(),
  expiry_time: Type.Union([Type.Integer(), Type.Null()]),
});

const TokenParams = Type.Object({ token: Type.String() });
const UsesAllowed = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
const ExpiryTime = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);

export const listRegistrationTokens = defineEndpoint({
  name: 'listRegistrationTokens',
  method: 'GET',
  path: ADMIN,
  auth: 'user',
  query: Type.Object({ valid: Type.Optional(Type.Boolean()) }),
  response: Type.Object({ registration_tokens: Type.Array(RegistrationToken) }),
});

export const getRegistrationToken = defineEndpoint({
  name: 'getRegistrationToken',
  method: 'GET',
  path: `${ADMIN}/{token}`,
  auth: 'user',
  params: TokenParams,
  response: RegistrationToken,
});

/** POST .../new: a new token, named or generated (`length` characters, 16 by default). */
export const createRegistrationToken = defineEndpoint({
  name: 'createRegistrationToken',
  method: 'POST',
  path: `${ADMIN}/new`,
  auth: 'user',
  body: Type.Object({
    token: Type.Optional(Type.String()),
    uses_allowed: Type.Optional(UsesAllowed),
    expiry_time: Type.Optional(ExpiryTime),
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  }),
  response: RegistrationToken,
});

export const updateRegistrationToken = defineEndpoint({
  name: 'updateRegistrationToken',
  method: 'PUT',
  path: `${ADMIN}/{token}`,
  auth: 'user',
  params: TokenParams,
  body: Type.Object({ uses_allowed: Type.Optional(UsesAllowed), expiry_time: Type.Optional(ExpiryTime) }),
  response: RegistrationToken,
});

export const deleteRegistrationToken = defineEndpoint({
  name: 'deleteRegistrationToken',
  method: 'DELETE',
  path: `${ADMIN}/{token}`,
  auth: 'user',
  params: TokenParams,
  response: Type.Object({}),
});
