import { isPlainObject } from '../crypto/index.js';
import type { Logger } from '../platform/logger.js';
import { userIdServer, type UserId } from '../protocol/index.js';
import type { KeyJson } from './key-json.js';
import type { RemoteDeviceLists } from './remote-device-lists.js';

/**
 * Keys of other servers' users (server-server API, "End-to-End Encryption"): /keys/query and /keys/claim
 * for remote users become one POST /user/keys/query or /user/keys/claim per server, all at once, each
 * within the client's timeout. A server that cannot be reached or refuses is listed in `failures` under
 * its name; what a server answers about users or devices nobody asked it for is dropped.
 */

/** The signed federation client (src/federation/client.ts), as far as this needs it. */
export interface FederationRequests {
  request<T>(
    destination: string,
    method: 'GET' | 'POST',
    path: string,
    options?: { readonly body?: Readonly<Record<string, unknown>>; readonly timeoutMs?: number },
  ): Promise<T>;
}

export interface RemoteKeysDeps {
  readonly client: FederationRequests;
  readonly deviceLists: RemoteDeviceLists;
  /** Whether a user shares a room with this server: only their device lists are kept. */
  readonly sharesRoom: (userId: string) => Promise<boolean>;
  readonly log: Logger;
}

/** The spec's recommended default for /keys/query's and /keys/claim's `timeout`. */
export const DEFAULT_REMOTE_KEYS_TIMEOUT_MS = 10_000;
const MAX_REMOTE_KEYS_TIMEOUT_MS = 60_000;

export interface RemoteQueryResult {
  device_keys: Record<string, Record<string, KeyJson>>;
  master_keys: Record<string, KeyJson>;
  self_signing_keys: Record<string, KeyJson>;
  failures: Record<string, object>;
}

export interface RemoteClaimResult {
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, object>;
}

/** The timeout to use: the client's, within sane bounds, or the default. */
export function remoteTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs) || timeoutMs <= 0) return DEFAULT_REMOTE_KEYS_TIMEOUT_MS;
  return Math.min(Math.max(timeoutMs, 1), MAX_REMOTE_KEYS_TIMEOUT_MS);
}

/** Groups a request map by the users' servers (the users are known to be valid remote user ids). */
function byServer<T>(entries: ReadonlyMap<string, T>): Map<string, Map<string, T>> {
  const grouped = new Map<string, Map<string, T>>();
  for (const [userId, value] of entries) {
    const server = userIdServer(userId as UserId);
    let forServer = grouped.get(server);
    if (forServer === undefined) grouped.set(server, (forServer = new Map()));
    forServer.set(userId, value);
  }
  return grouped;
}

/**
 * A failure entry (Synapse's shape: status and message). The remote's own error text is not passed on:
 * the status and errcode say enough, and the text is not ours to vouch for.
 */
function failureOf(server: string, err: unknown): { status: number; message: string; errcode?: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { kind?: unknown; remoteStatus?: unknown; remoteErrcode?: unknown };
  if (e.kind === 'remote' && typeof e.remoteStatus === 'number') {
    return { status: e.remoteStatus, message: `${server} refused the request`, ...(typeof e.remoteErrcode === 'string' ? { errcode: e.remoteErrcode } : {}) };
  }
  if (e.kind === 'timeout') return { status: 504, message: `${server} did not answer in time` };
  return { status: 503, message: `${server} could not be reached` };
}

/** A key object the server vouches for as the user's (its user_id names them). */
function ownedKey(value: unknown, userId: string): KeyJson | undefined {
  return isPlainObject(value) && value.user_id === userId ? value : undefined;
}

export function createRemoteKeys(deps: RemoteKeysDeps) {
  const { client, deviceLists } = deps;
  const log = deps.log.child({ component: 'remote-keys' });

  /** One server's answer for its users, checked; the full lists it gave are cached for room-mates. */
  async function queryServer(server: string, users: ReadonlyMap<string, readonly string[]>, timeoutMs: number, into: RemoteQueryResult): Promise<void> {
    let answer: unknown;
    try {
      answer = await client.request<unknown>(server, 'POST', '/_matrix/federation/v1/user/keys/query', {
        body: { device_keys: Object.fromEntries([...users].map(([userId, devices]) => [userId, [...devices]])) },
        timeoutMs,
      });
    } catch (err) {
      log.info({ err, server }, 'remote key query failed');
      into.failures[server] = failureOf(server, err);
      return;
    }
    const body = isPlainObject(answer) ? answer : {};
    const deviceKeys = isPlainObject(body.device_keys) ? body.device_keys : {};
    const masters = isPlainObject(body.master_keys) ? body.master_keys : {};
    const selfSignings = isPlainObject(body.self_signing_keys) ? body.self_signing_keys : {};
    for (const [userId, asked] of users) {
      const given = isPlainObject(deviceKeys[userId]) ? deviceKeys[userId] : {};
      const devices: Record<string, KeyJson> = {};
      for (const [deviceId, keys] of Object.entries(given)) {
        if (asked.length > 0 && !asked.includes(deviceId)) continue;
        const owned = ownedKey(keys, userId);
        if (owned !== undefined && owned.device_id === deviceId) devices[deviceId] = owned;
      }
      into.device_keys[userId] = devices;
      const master = ownedKey(masters[userId], userId);
      const selfSigning = ownedKey(selfSignings[userId], userId);
      if (master !== undefined) into.master_keys[userId] = master;
      if (selfSigning !== undefined) into.self_signing_keys[userId] = selfSigning;
      if (asked.length === 0 && (await deps.sharesRoom(userId))) {
        deviceLists.put(userId, { devices, ...(master ? { master } : {}), ...(selfSigning ? { selfSigning } : {}) });
      }
    }
  }

  async function claimServer(
    server: string,
    users: ReadonlyMap<string, Readonly<Record<string, string>>>,
    timeoutMs: number,
    into: RemoteClaimResult,
  ): Promise<void> {
    let answer: unknown;
    try {
      answer = await client.request<unknown>(server, 'POST', '/_matrix/federation/v1/user/keys/claim', {
        body: { one_time_keys: Object.fromEntries(users) },
        timeoutMs,
      });
    } catch (err) {
      log.info({ err, server }, 'remote key claim failed');
      into.failures[server] = failureOf(server, err);
      return;
    }
    const claimed = isPlainObject(answer) && isPlainObject(answer.one_time_keys) ? answer.one_time_keys : {};
    for (const [userId, asked] of users) {
      const given = claimed[userId];
      if (!isPlainObject(given)) continue;
      for (const [deviceId, keys] of Object.entries(given)) {
        if (asked[deviceId] === undefined || !isPlainObject(keys)) continue;
        (into.one_time_keys[userId] ??= {})[deviceId] = keys;
      }
    }
  }

  return {
    /**
     * Device and cross-signing keys of remote users (user -> device ids, none: all). Users whose full list
     * is cached are answered from it; the rest are asked of their servers in parallel.
     */
    async query(users: ReadonlyMap<string, readonly string[]>, timeoutMs?: number): Promise<RemoteQueryResult> {
      const result: RemoteQueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {}, failures: {} };
      const toAsk = new Map<string, readonly string[]>();
      for (const [userId, devices] of users) {
        const cached = deviceLists.get(userId);
        if (cached === undefined) {
          toAsk.set(userId, devices);
          continue;
        }
        result.device_keys[userId] = devices.length === 0
          ? { ...cached.devices }
          : Object.fromEntries(Object.entries(cached.devices).filter(([deviceId]) => devices.includes(deviceId)));
        if (cached.master) result.master_keys[userId] = cached.master;
        if (cached.selfSigning) result.self_signing_keys[userId] = cached.selfSigning;
      }
      const timeout = remoteTimeout(timeoutMs);
      await Promise.all([...byServer(toAsk)].map(([server, forServer]) => queryServer(server, forServer, timeout, result)));
      return result;
    },

    /** One key per device asked for (user -> device -> algorithm), from each user's server. */
    async claim(users: ReadonlyMap<string, Readonly<Record<string, string>>>, timeoutMs?: number): Promise<RemoteClaimResult> {
      const result: RemoteClaimResult = { one_time_keys: {}, failures: {} };
      const timeout = remoteTimeout(timeoutMs);
      await Promise.all([...byServer(users)].map(([server, forServer]) => claimServer(server, forServer, timeout, result)));
      return result;
    },

    /** See RemoteDeviceLists.remoteDeviceListChanged. */
    remoteDeviceListChanged: (userId: string): void => deviceLists.remoteDeviceListChanged(userId),
  };
}

export type RemoteKeys = ReturnType<typeof createRemoteKeys>;
