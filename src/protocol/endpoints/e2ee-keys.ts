import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';
import { AuthDict } from './accounts.js';

/**
 * The key management API (client-server API, "End-to-End Encryption"): device keys, one-time and fallback
 * keys, cross-signing keys and signatures. Key objects are checked by src/e2ee/key-json.ts, which says
 * what is wrong with one; the contracts only fix the outer shapes.
 */

const KeyObject = Type.Record(Type.String(), Type.Unknown());
const Failures = Type.Record(Type.String(), Type.Unknown());
const Timeout = Type.Optional(Type.Integer({ minimum: 0 }));

/** The cross-signing endpoints were unstable before 1.1; sytest and older clients still call those paths. */
function withUnstable(path: string) {
  const v3 = clientV3(path);
  return { path: v3.path, aliases: [...v3.aliases, `/_matrix/client/unstable${path}`] };
}

export const uploadKeys = defineEndpoint({
  name: 'uploadKeys',
  method: 'POST',
  ...clientV3('/keys/upload'),
  auth: 'user',
  body: Type.Object({
    device_keys: Type.Optional(KeyObject),
    one_time_keys: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    fallback_keys: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
  response: Type.Object({ one_time_key_counts: Type.Record(Type.String(), Type.Integer()) }),
});

export const queryKeys = defineEndpoint({
  name: 'queryKeys',
  method: 'POST',
  ...clientV3('/keys/query'),
  auth: 'user',
  body: Type.Object({ device_keys: Type.Record(Type.String(), Type.Array(Type.String())), timeout: Timeout, token: Type.Optional(Type.String()) }),
  response: Type.Object({
    device_keys: Type.Record(Type.String(), Type.Record(Type.String(), KeyObject)),
    master_keys: Type.Record(Type.String(), KeyObject),
    self_signing_keys: Type.Record(Type.String(), KeyObject),
    user_signing_keys: Type.Record(Type.String(), KeyObject),
    failures: Failures,
  }),
});

export const claimKeys = defineEndpoint({
  name: 'claimKeys',
  method: 'POST',
  ...clientV3('/keys/claim'),
  auth: 'user',
  body: Type.Object({ one_time_keys: Type.Record(Type.String(), Type.Record(Type.String(), Type.String())), timeout: Timeout }),
  response: Type.Object({
    one_time_keys: Type.Record(Type.String(), Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))),
    failures: Failures,
  }),
});

export const getKeysChanges = defineEndpoint({
  name: 'getKeysChanges',
  method: 'GET',
  ...clientV3('/keys/changes'),
  auth: 'user',
  query: Type.Object({ from: Type.String(), to: Type.String() }),
  response: Type.Object({ changed: Type.Array(Type.String()), left: Type.Array(Type.String()) }),
});

export const uploadCrossSigningKeys = defineEndpoint({
  name: 'uploadCrossSigningKeys',
  method: 'POST',
  ...withUnstable('/keys/device_signing/upload'),
  auth: 'user',
  body: Type.Object({
    master_key: Type.Optional(KeyObject),
    self_signing_key: Type.Optional(KeyObject),
    user_signing_key: Type.Optional(KeyObject),
    auth: Type.Optional(AuthDict),
  }),
  response: Type.Object({}),
});

export const uploadCrossSigningSignatures = defineEndpoint({
  name: 'uploadCrossSigningSignatures',
  method: 'POST',
  ...withUnstable('/keys/signatures/upload'),
  auth: 'user',
  body: Type.Record(Type.String(), Type.Record(Type.String(), KeyObject)),
  response: Type.Object({ failures: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown())) }),
});
