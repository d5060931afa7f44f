import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/**
 * What other servers ask of this server's users' devices and keys (server-server API: user_devices.yaml,
 * user_keys.yaml). Key objects are passed through as uploaded.
 */

const KeyObject = Type.Object({}, { additionalProperties: true });

/** GET /_matrix/federation/v1/user/devices/{userId}: a local user's devices and cross-signing keys. */
export const getUserDevices = defineEndpoint({
  name: 'getUserDevices',
  method: 'GET',
  path: '/_matrix/federation/v1/user/devices/{userId}',
  auth: 'federation',
  params: Type.Object({ userId: Type.String() }),
  response: Type.Object({
    user_id: Type.String(),
    stream_id: Type.Integer(),
    devices: Type.Array(
      Type.Object({ device_id: Type.String(), keys: KeyObject, device_display_name: Type.Optional(Type.String()) }),
    ),
    master_key: Type.Optional(KeyObject),
    self_signing_key: Type.Optional(KeyObject),
  }),
});

/** POST /_matrix/federation/v1/user/keys/query: device and cross-signing keys of local users. */
export const queryUserEncryptionKeys = defineEndpoint({
  name: 'queryUserEncryptionKeys',
  method: 'POST',
  path: '/_matrix/federation/v1/user/keys/query',
  auth: 'federation',
  body: Type.Object({ device_keys: Type.Record(Type.String(), Type.Array(Type.String())) }),
  response: Type.Object({
    device_keys: Type.Record(Type.String(), Type.Record(Type.String(), KeyObject)),
    master_keys: Type.Optional(Type.Record(Type.String(), KeyObject)),
    self_signing_keys: Type.Optional(Type.Record(Type.String(), KeyObject)),
  }),
});

/** POST /_matrix/federation/v1/user/keys/claim: one-time (else fallback) keys of local users' devices. */
export const claimUserEncryptionKeys = defineEndpoint({
  name: 'claimUserEncryptionKeys',
  method: 'POST',
  path: '/_matrix/federation/v1/user/keys/claim',
  auth: 'federation',
  body: Type.Object({ one_time_keys: Type.Record(Type.String(), Type.Record(Type.String(), Type.String())) }),
  response: Type.Object({ one_time_keys: Type.Record(Type.String(), Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()))) }),
});
