import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

export const ServerKeys = Type.Object({
  server_name: Type.String(),
  verify_keys: Type.Record(Type.String(), Type.Object({ key: Type.String() })),
  old_verify_keys: Type.Record(Type.String(), Type.Object({ key: Type.String(), expired_ts: Type.Integer() })),
  valid_until_ts: Type.Integer(),
  signatures: Type.Record(Type.String(), Type.Record(Type.String(), Type.String())),
});

/** GET /_matrix/key/v2/server: this server's signing keys, signed by themselves. */
export const getServerKey = defineEndpoint({
  name: 'getServerKey',
  method: 'GET',
  path: '/_matrix/key/v2/server',
  auth: 'none',
  response: ServerKeys,
});
