import { MatrixError, isUserId, userIdServer, type UserId } from '../protocol/index.js';
import type { Logger } from '../platform/logger.js';
import { deviceOf, type Requester } from '../users/index.js';
import { checkDeviceKeys, parseUploadedKeys, withSignatures, type KeyJson } from './key-json.js';
import type { RemoteKeys } from './remote-keys.js';
import type { DeviceListNotifier, KeyStore, StoredCrossSigningKey, StoredSignature, UploadedKey } from './ports.js';

/**
 * Device keys, one-time and fallback keys (client-server API, "Key management API"): devices publish the
 * public halves of their keys, other users' devices fetch them to start Olm sessions. Hearth checks what it
 * can (device keys are signed by the device's own ed25519 key) and hands out each one-time key once.
 * Remote users are asked of their servers (remote-keys.ts) when `remote` is given, else answered with a
 * failure for their server.
 */

export interface KeysDeps {
  readonly store: KeyStore;
  readonly log: Logger;
  readonly serverName: string;
  /** The rooms a user is joined to: a change to their devices wakes the syncs of everyone in them. */
  readonly joinedRooms: (userId: string) => Promise<readonly string[]>;
  readonly notify: DeviceListNotifier;
  /** Refuse device keys not signed by the device's own key (config e2ee.verify_device_keys). Default true. */
  readonly verifyDeviceKeys?: boolean;
  /** Asks other servers for their users' keys (federation); absent: they are listed as failures. */
  readonly remote?: Pick<RemoteKeys, 'query' | 'claim'>;
  /**
   * Told of the devices a change touched, as a remote server sees them (federation's
   * m.device_list_update); never throws.
   */
  readonly federateDevices?: (userId: string, position: number, updates: readonly DeviceUpdate[]) => Promise<void>;
}

/** A device of a local user after a change: its keys and name, or gone. */
export interface DeviceUpdate {
  readonly deviceId: string;
  readonly deleted: boolean;
  readonly keys?: KeyJson;
  readonly displayName?: string;
}

export interface UploadRequest {
  readonly device_keys?: Readonly<Record<string, unknown>>;
  readonly one_time_keys?: Readonly<Record<string, unknown>>;
  readonly fallback_keys?: Readonly<Record<string, unknown>>;
}

export interface QueryResponse {
  device_keys: Record<string, Record<string, KeyJson>>;
  master_keys: Record<string, KeyJson>;
  self_signing_keys: Record<string, KeyJson>;
  user_signing_keys: Record<string, KeyJson>;
  failures: Record<string, object>;
}

export interface ClaimResponse {
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, object>;
}

/** What a remote server's users get until federation can ask their server. */
const UNREACHABLE = { errcode: 'M_UNKNOWN', error: 'This server cannot reach other servers yet' };

/**
 * The signatures on a key that `viewer` may see (spec: "Key and signature security"); a remote server
 * (viewer null) sees the owner's own.
 */
function visibleSignatures(signatures: readonly StoredSignature[], owner: string, viewer: string | null): Array<[string, string, string]> {
  return signatures
    .filter((sig) => sig.signerUserId === owner || sig.signerUserId === viewer)
    .map((sig) => [sig.signerUserId, sig.signerKeyId, sig.signature]);
}

export function createKeysService(deps: KeysDeps) {
  const { store, serverName, log } = deps;
  const isLocal = (userId: string) => isUserId(userId) && userIdServer(userId as UserId) === serverName;

  /**
   * Tells every sync that should hear of it (the user's own and their room-mates'), and, for the devices
   * named, the servers sharing a room with the user.
   */
  async function announce(userId: string, position: number, deviceIds?: readonly string[]): Promise<void> {
    deps.notify({ position, users: [userId], rooms: await deps.joinedRooms(userId) });
    if (deps.federateDevices !== undefined && deviceIds !== undefined && deviceIds.length > 0 && isLocal(userId)) {
      await deps.federateDevices(userId, position, await deviceUpdates(userId, deviceIds));
    }
  }

  /** The devices as a remote server sees them now (no user-signing signatures): kept ones with keys, or deleted. */
  async function deviceUpdates(userId: string, deviceIds: readonly string[]): Promise<DeviceUpdate[]> {
    const unique = [...new Set(deviceIds)];
    const existing = new Set(await store.deviceIds(userId));
    const published = (await query(null, { [userId]: unique.filter((id) => existing.has(id)) })).device_keys[userId] ?? {};
    return unique.map((deviceId): DeviceUpdate => {
      if (!existing.has(deviceId)) return { deviceId, deleted: true };
      const json = published[deviceId];
      if (json === undefined) return { deviceId, deleted: false };
      const { unsigned, ...keys } = json;
      const name = (unsigned as { device_display_name?: unknown } | undefined)?.device_display_name;
      return { deviceId, deleted: false, keys, ...(typeof name === 'string' ? { displayName: name } : {}) };
    });
  }

  function uploadedKeys(keys: Readonly<Record<string, unknown>> | undefined, field: string): UploadedKey[] {
    return keys === undefined ? [] : parseUploadedKeys(keys, field);
  }

  /**
   * POST /keys/query: the users' devices and cross-signing keys, with the signatures the requester may see.
   * A remote server asking for its users (federation /user/keys/query) passes null: no user-signing keys,
   * and never a request to another server.
   */
  async function query(requester: Pick<Requester, 'userId'> | null, deviceKeys: Readonly<Record<string, readonly string[]>>, timeoutMs?: number): Promise<QueryResponse> {
    const viewer = requester?.userId ?? null;
    const response: QueryResponse = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {}, failures: {} };
    const local = new Map<string, readonly string[] | 'all'>();
    const remote = new Map<string, readonly string[]>();
    for (const [userId, devices] of Object.entries(deviceKeys)) {
      if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `'${userId}' in device_keys is not a user id`);
      if (isLocal(userId)) local.set(userId, devices.length === 0 ? 'all' : devices);
      else if (deps.remote === undefined || requester === null) response.failures[userIdServer(userId as UserId)] = UNREACHABLE;
      else remote.set(userId, devices);
    }
    if (remote.size > 0 && deps.remote !== undefined) {
      // User-signing keys are only ever the requester's own, and a remote user is never the requester.
      const found = await deps.remote.query(remote, timeoutMs);
      Object.assign(response.device_keys, found.device_keys);
      Object.assign(response.master_keys, found.master_keys);
      Object.assign(response.self_signing_keys, found.self_signing_keys);
      Object.assign(response.failures, found.failures);
    }
    if (local.size === 0) return response;
    const users = [...local.keys()];
    for (const userId of users) response.device_keys[userId] = {};

    const devices = await store.publishedDevices(local);
    const crossSigning = await store.crossSigningKeys(users);
    const masters = crossSigning.filter((key) => key.type === 'master');
    const signatures = await store.signaturesOn([
      ...devices.map((device) => [device.userId, device.deviceId] as const),
      ...masters.map((key) => [key.userId, key.publicKey] as const),
    ]);
    const on = (userId: string, keyId: string) => signatures.filter((sig) => sig.targetUserId === userId && sig.targetKeyId === keyId);

    for (const device of devices) {
      const json = withSignatures(device.keys, visibleSignatures(on(device.userId, device.deviceId), device.userId, viewer));
      const unsigned = device.displayName === null ? {} : { device_display_name: device.displayName };
      (response.device_keys[device.userId] ??= {})[device.deviceId] = { ...json, unsigned };
    }
    for (const key of crossSigning) {
      if (key.type === 'user_signing' && key.userId !== viewer) continue;
      const json = key.type === 'master' ? withSignatures(key.json, visibleSignatures(on(key.userId, key.publicKey), key.userId, viewer)) : key.json;
      response[fieldOf(key)][key.userId] = json;
    }
    return response;
  }

  return {
    announce,

    /** POST /keys/upload: returns the device's unclaimed one-time keys per algorithm. */
    async upload(requester: Requester, body: UploadRequest): Promise<{ one_time_key_counts: Record<string, number> }> {
      const deviceId = deviceOf(requester);
      const deviceKeys = body.device_keys === undefined ? undefined : checkDeviceKeys({ ...body.device_keys }, requester.userId, deviceId, deps.verifyDeviceKeys !== false);
      const oneTimeKeys = uploadedKeys(body.one_time_keys, 'one_time_keys');
      const fallbackKeys = uploadedKeys(body.fallback_keys, 'fallback_keys');
      const algorithms = fallbackKeys.map((key) => key.algorithm);
      if (new Set(algorithms).size !== algorithms.length) throw new MatrixError('M_INVALID_PARAM', 'fallback_keys may hold one key per algorithm');
      const result = await store.uploadKeys({
        userId: requester.userId,
        deviceId,
        ...(deviceKeys ? { deviceKeys } : {}),
        oneTimeKeys,
        fallbackKeys,
      });
      if ('conflict' in result) {
        const { algorithm, keyId } = result.conflict;
        throw new MatrixError('M_INVALID_PARAM', `One-time key ${algorithm}:${keyId} already exists with other content; nothing was stored`);
      }
      if (result.position !== null) {
        log.info({ userId: requester.userId, deviceId }, 'device keys changed');
        await announce(requester.userId, result.position, [deviceId]);
      }
      return { one_time_key_counts: result.counts };
    },

    query,

    /**
     * POST /keys/claim: one key per device asked for, a one-time key if one is left, else the fallback key.
     * `fromRemoteServer`: a remote server's claim (federation /user/keys/claim), never passed on.
     */
    async claim(oneTimeKeys: Readonly<Record<string, Readonly<Record<string, string>>>>, timeoutMs?: number, fromRemoteServer = false): Promise<ClaimResponse> {
      const response: ClaimResponse = { one_time_keys: {}, failures: {} };
      const requests = [];
      const remote = new Map<string, Readonly<Record<string, string>>>();
      for (const [userId, devices] of Object.entries(oneTimeKeys)) {
        if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `'${userId}' in one_time_keys is not a user id`);
        if (!isLocal(userId)) {
          if (deps.remote === undefined || fromRemoteServer) response.failures[userIdServer(userId as UserId)] = UNREACHABLE;
          else remote.set(userId, devices);
          continue;
        }
        for (const [deviceId, algorithm] of Object.entries(devices)) requests.push({ userId, deviceId, algorithm });
      }
      if (remote.size > 0 && deps.remote !== undefined) {
        const found = await deps.remote.claim(remote, timeoutMs);
        Object.assign(response.one_time_keys, found.one_time_keys);
        Object.assign(response.failures, found.failures);
      }
      for (const claimed of await store.claimKeys(requests)) {
        const byDevice = (response.one_time_keys[claimed.userId] ??= {});
        byDevice[claimed.deviceId] = { [`${claimed.algorithm}:${claimed.keyId}`]: claimed.key };
      }
      return response;
    },

    /** For sync: the device's unclaimed one-time keys per algorithm, and its unused fallback key algorithms. */
    deviceKeyCounts: (userId: string, deviceId: string): Promise<{ counts: Record<string, number>; unusedFallbackTypes: string[] }> =>
      store.keyCounts(userId, deviceId),
  };
}

export type KeysService = ReturnType<typeof createKeysService>;

function fieldOf(key: StoredCrossSigningKey): 'master_keys' | 'self_signing_keys' | 'user_signing_keys' {
  return key.type === 'master' ? 'master_keys' : key.type === 'self_signing' ? 'self_signing_keys' : 'user_signing_keys';
}
