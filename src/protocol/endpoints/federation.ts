import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/** GET /_matrix/federation/v1/version: the implementation's name and version. */
export const getFederationVersion = defineEndpoint({
  name: 'getVersion',
  method: 'GET',
  path: '/_matrix/federation/v1/version',
  auth: 'none',
  response: Type.Object({
    server: Type.Object({ name: Type.String(), version: Type.String() }),
  }),
});
