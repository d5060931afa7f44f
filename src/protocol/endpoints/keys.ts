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

/**
 * GET /_matrix/key/v2/server/{keyId}: the same publication. The key id in the path is deprecated (spec
 * r0.1.x asked for one key); servers answer with all their keys whatever it names, and older servers and
 * sytest still ask this way.
 */
export const getServerKeyById = defineEndpoint({
  name: 'getServerKeyById',
  method: 'GET',
  path: '/_matrix/key/v2/server/{keyId}',
  auth: 'none',
  params: Type.Object({ keyId: Type.String() }),
  response: ServerKeys,
});

/** A notary's answer: each queried server's own signed key publication, countersigned by the notary. */
export const ServerKeysQueryResponse = Type.Object({
  server_keys: Type.Array(Type.Record(Type.String(), Type.Unknown())),
});

/** GET /_matrix/key/v2/query/{serverName}: another server's keys, through this server as a notary. */
export const queryServerKeys = defineEndpoint({
  name: 'perspectivesKeyQuery',
  method: 'GET',
  path: '/_matrix/key/v2/query/{serverName}',
  auth: 'none',
  params: Type.Object({ serverName: Type.String() }),
  query: Type.Object({ minimum_valid_until_ts: Type.Optional(Type.Integer()) }),
  response: ServerKeysQueryResponse,
});

/** GET /_matrix/key/v2/query/{serverName}/{keyId}: the deprecated form; the answer holds all the server's keys. */
export const queryServerKeysById = defineEndpoint({
  name: 'perspectivesKeyQueryById',
  method: 'GET',
  path: '/_matrix/key/v2/query/{serverName}/{keyId}',
  auth: 'none',
  params: Type.Object({ serverName: Type.String(), keyId: Type.String() }),
  query: Type.Object({ minimum_valid_until_ts: Type.Optional(Type.Integer()) }),
  response: ServerKeysQueryResponse,
});

/** POST /_matrix/key/v2/query: several servers' keys at once, through this server as a notary. */
export const bulkQueryServerKeys = defineEndpoint({
  name: 'bulkPerspectivesKeyQuery',
  method: 'POST',
  path: '/_matrix/key/v2/query',
  auth: 'none',
  body: Type.Object({
    server_keys: Type.Record(
      Type.String(),
      Type.Record(Type.String(), Type.Object({ minimum_valid_until_ts: Type.Optional(Type.Integer()) })),
    ),
  }),
  response: ServerKeysQueryResponse,
});
