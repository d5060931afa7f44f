import { isUserId, MatrixError, userIdServer, type UserId } from '../protocol/index.js';
import type { KeyJson } from './key-json.js';
import type { KeysService } from './keys.js';

/**
 * What other servers ask of this server's users' keys (server-server API, "Device Management" and
 * "End-to-End Encryption"): the device list with its stream position, device and cross-signing keys, and
 * one-time key claims. Built on the keys service, as a remote server that sees only what a stranger
 * would: the owner's own signatures, never user-signing keys. Users of other servers are left out.
 */

/** Where a user's device list stands on the device-list stream (src/storage/device-list-positions.ts). */
export interface DeviceListPositions {
  deviceListPosition(userId: string): Promise<number>;
}

export interface FederationKeysDeps {
  readonly keys: Pick<KeysService, 'query' | 'claim'>;
  readonly positions: DeviceListPositions;
  readonly serverName: string;
}

export interface UserDevice {
  device_id: string;
  keys: KeyJson;
  device_display_name?: string;
}

export interface UserDevicesResponse {
  user_id: string;
  stream_id: number;
  devices: UserDevice[];
  master_key?: KeyJson;
  self_signing_key?: KeyJson;
}

export interface FederationKeysQueryResponse {
  device_keys: Record<string, Record<string, KeyJson>>;
  master_keys: Record<string, KeyJson>;
  self_signing_keys: Record<string, KeyJson>;
}

export function createFederationKeys(deps: FederationKeysDeps) {
  const { keys, serverName } = deps;
  const isLocal = (userId: string) => userIdServer(userId as UserId) === serverName;

  /** The entries of a request map for this server's users; a string that is no user id is refused. */
  function localEntries<T>(field: string, request: Readonly<Record<string, T>>): Record<string, T> {
    const local: Record<string, T> = {};
    for (const [userId, value] of Object.entries(request)) {
      if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `'${userId}' in ${field} is not a user id`);
      if (isLocal(userId)) local[userId] = value;
    }
    return local;
  }

  return {
    /** GET /user/devices/{userId}: every device with published keys, and the user's cross-signing keys. */
    async userDevices(userId: string): Promise<UserDevicesResponse> {
      if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `'${userId}' is not a user id`);
      if (!isLocal(userId)) throw new MatrixError('M_INVALID_PARAM', `${userId} is not a user of this server (${serverName})`);
      const [found, streamId] = await Promise.all([keys.query(null, { [userId]: [] }), deps.positions.deviceListPosition(userId)]);
      const devices = Object.entries(found.device_keys[userId] ?? {}).map(([deviceId, json]): UserDevice => {
        const { unsigned, ...deviceKeys } = json;
        const name = (unsigned as { device_display_name?: unknown } | undefined)?.device_display_name;
        return { device_id: deviceId, keys: deviceKeys, ...(typeof name === 'string' ? { device_display_name: name } : {}) };
      });
      const master = found.master_keys[userId];
      const selfSigning = found.self_signing_keys[userId];
      return {
        user_id: userId,
        stream_id: streamId,
        devices,
        ...(master ? { master_key: master } : {}),
        ...(selfSigning ? { self_signing_key: selfSigning } : {}),
      };
    },

    /** POST /user/keys/query: device and cross-signing keys of this server's users among those asked. */
    async query(deviceKeys: Readonly<Record<string, readonly string[]>>): Promise<FederationKeysQueryResponse> {
      const found = await keys.query(null, localEntries('device_keys', deviceKeys));
      return { device_keys: found.device_keys, master_keys: found.master_keys, self_signing_keys: found.self_signing_keys };
    },

    /** POST /user/keys/claim: one key per device asked for, of this server's users. */
    async claim(oneTimeKeys: Readonly<Record<string, Readonly<Record<string, string>>>>): Promise<{ one_time_keys: Record<string, Record<string, Record<string, unknown>>> }> {
      const claimed = await keys.claim(localEntries('one_time_keys', oneTimeKeys));
      return { one_time_keys: claimed.one_time_keys };
    },
  };
}

export type FederationKeys = ReturnType<typeof createFederationKeys>;
