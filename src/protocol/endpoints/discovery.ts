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
