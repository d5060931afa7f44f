import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/** GET /_matrix/client/versions: the spec versions this server implements. */
export const getVersions = defineEndpoint({
  name: 'getVersions',
  method: 'GET',
  path: '/_matrix/client/versions',
  auth: 'optional-user',
  response: Type.Object({
    versions: Type.Array(Type.String()),
    unstable_features: Type.Record(Type.String(), Type.Boolean()),
  }),
});

/** GET /.well-known/matrix/client: where clients find the homeserver for this server name. */
export const getWellKnownClient = defineEndpoint({
  name: 'getWellknown',
  method: 'GET',
  path: '/.well-known/matrix/client',
  auth: 'none',
  response: Type.Object(
    { 'm.homeserver': Type.Object({ base_url: Type.String() }) },
    { additionalProperties: true },
  ),
});

/** GET /.well-known/matrix/server: where other servers send federation traffic for this name. */
export const getWellKnownServer = defineEndpoint({
  name: 'getWellKnown',
  method: 'GET',
  path: '/.well-known/matrix/server',
  auth: 'none',
  response: Type.Object({ 'm.server': Type.String() }),
});

/** GET /.well-known/matrix/support: how to reach the server's admins (client-server API, "Server support"). */
export const getWellKnownSupport = defineEndpoint({
  name: 'getWellknownSupport',
  method: 'GET',
  path: '/.well-known/matrix/support',
  auth: 'none',
  response: Type.Object({
    contacts: Type.Optional(
      Type.Array(Type.Object({ matrix_id: Type.Optional(Type.String()), email_address: Type.Optional(Type.String()), role: Type.String() })),
    ),
    support_page: Type.Optional(Type.String()),
  }),
});
