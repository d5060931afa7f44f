import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** OpenID (client-server openid.yaml; server-server openid.yaml): a token a third party trades for the user id. */

export const requestOpenIdToken = defineEndpoint({
  name: 'requestOpenIdToken',
  method: 'POST',
  ...clientV3('/user/{userId}/openid/request_token'),
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  // The spec's body is an empty object; anything in it is ignored.
  body: Type.Object({}, { additionalProperties: true }),
  response: Type.Object({
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    matrix_server_name: Type.String(),
    expires_in: Type.Integer(),
  }),
});

/**
 * The third party's side, on the federation API but not signed: the OpenID token in the query is the
 * only credential (no X-Matrix, no client access token).
 */
export const getOpenIdUserInfo = defineEndpoint({
  name: 'getOpenIdUserInfo',
  method: 'GET',
  path: '/_matrix/federation/v1/openid/userinfo',
  auth: 'none',
  query: Type.Object({ access_token: Type.Optional(Type.String()) }),
  response: Type.Object({ sub: Type.String() }),
});
