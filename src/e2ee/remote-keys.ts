import { encodeCanonicalJson, isPlainObject } from '../crypto/index.js';
import type { Logger } from '../platform/logger.js';
import { userIdServer, type UserId } from '../protocol/index.js';
import type { KeyJson } from './key-json.js';
import type { Clock } from '../platform/clock.js';
import type { RemoteDeviceListStore } from './ports.js';
import {
  applyDeviceListUpdate,
  applySigningKeyUpdate,
  crossSigningKeyOf,
  parseUserDevices,
  queriedDeviceKeys,
  type RemoteDeviceList,
} from './remote-device-lists.js';

/**
 * Keys of other servers' users (server-server API, "End-to-End Encryption" and "Device Management").
 *
 * Users who share a room with a local user have their whole device list kept (remote-device-lists.ts):
 * fetched with GET /user/devices the first time, kept current by their server's m.device_list_update
 * EDUs, fetched again when an update was missed or when we may have missed some (a break in sharing a
 * room), and answered from the kept copy while their server is down. Other users' keys are asked of their
 * servers each time: /keys/query and /keys/claim become one POST /user/keys/query or /user/keys/claim per
 * server, all at once, each within the client's timeout. A server that cannot be reached or refuses is
 * listed in `failures` under its name; what a server answers about users or devices nobody asked it for
 * is dropped.
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
  readonly store: RemoteDeviceListStore;
  /** This server's name: "sharing a room" means with one of its users. */
  readonly serverName: string;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Tells local clients that the user's device list changed: a fetch brought devices or cross-signing
   * keys other than those kept (or the first list kept for the user).
   */
  readonly changed?: (userId: string) => Promise<void>;
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
const ownedKey = crossSigningKeyOf;

type Fetched = { readonly list: RemoteDeviceList } | { readonly error: unknown };

/** See remoteUpdate. */
export type RemoteUpdateOutcome = 'changed' | 'unchanged';

/** What a client sees of a list (its devices and cross-signing keys), comparable as a string. */
const keysOf = (list: RemoteDeviceList): string =>
  encodeCanonicalJson({ devices: list.devices, master: list.master ?? null, selfSigning: list.selfSigning ?? null });

export function createRemoteKeys(deps: RemoteKeysDeps) {
  const { client, store, serverName } = deps;
  const log = deps.log.child({ component: 'remote-keys' });
  /** Device lists being fetched, by user: concurrent queries and updates share one request. */
  const fetching = new Map<string, Promise<Fetched>>();

  /** Fetches the user's whole device list from their server and keeps it; on failure the kept copy is marked stale. */
  function fetchDeviceList(userId: string, timeoutMs: number): Promise<Fetched> {
    let pending = fetching.get(userId);
    if (pending === undefined) {
      pending = (async (): Promise<Fetched> => {
        const server = userIdServer(userId as UserId);
        try {
          const answer = await client.request<unknown>(server, 'GET', `/_matrix/federation/v1/user/devices/${encodeURIComponent(userId)}`, { timeoutMs });
          const list = parseUserDevices(userId, answer);
          if (list === undefined) throw new Error(`${server} answered /user/devices with something that is not a device list`);
          const before = (await store.remoteDeviceLists([userId], serverName)).get(userId)?.kept?.list;
          await store.putFetched(userId, list, deps.clock.now());
          if (before === undefined || keysOf(before) !== keysOf(list)) {
            await deps.changed?.(userId).catch((err: unknown) => log.warn({ err }, 'could not announce a remote device-list change'));
          }
          return { list };
        } catch (err) {
          log.info({ err, server }, 'could not fetch a remote device list');
          await store.markStale(userId).catch((inner: unknown) => log.warn({ err: inner }, 'could not mark a remote device list stale'));
          return { error: err };
        }
      })().finally(() => fetching.delete(userId));
      fetching.set(userId, pending);
    }
    return pending;
  }

  function answerFrom(list: RemoteDeviceList, userId: string, devices: readonly string[], into: RemoteQueryResult): void {
    into.device_keys[userId] = queriedDeviceKeys(list, devices);
    if (list.master) into.master_keys[userId] = list.master;
    if (list.selfSigning) into.self_signing_keys[userId] = list.selfSigning;
  }

  /** One server's answer for its users (who share no room with us), checked. */
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
     * Device and cross-signing keys of remote users (user -> device ids, none: all). Users who share a
     * room with a local user are answered from their kept list, fetched first when there is none or it
     * may be out of date (and the old copy used if that fails); the rest are asked of their servers.
     */
    async query(users: ReadonlyMap<string, readonly string[]>, timeoutMs?: number): Promise<RemoteQueryResult> {
      const result: RemoteQueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {}, failures: {} };
      const timeout = remoteTimeout(timeoutMs);
      const rows = await store.remoteDeviceLists([...users.keys()], serverName);
      const toAsk = new Map<string, readonly string[]>();
      const kept: Array<Promise<void>> = [];
      for (const [userId, devices] of users) {
        const row = rows.get(userId);
        if (row?.shared !== true) {
          // No room in common (any more): their server no longer tells us of changes.
          if (row?.kept !== undefined) kept.push(store.forget(userId));
          toAsk.set(userId, devices);
          continue;
        }
        const current = row.kept !== undefined && !row.kept.stale && row.kept.continuous ? row.kept.list : undefined;
        if (current !== undefined) {
          answerFrom(current, userId, devices, result);
          continue;
        }
        kept.push(
          fetchDeviceList(userId, timeout).then((fetched) => {
            if ('list' in fetched) answerFrom(fetched.list, userId, devices, result);
            else if (row.kept !== undefined) answerFrom(row.kept.list, userId, devices, result);
            else {
              const server = userIdServer(userId as UserId);
              result.failures[server] = failureOf(server, fetched.error);
            }
          }),
        );
      }
      await Promise.all([...kept, ...[...byServer(toAsk)].map(([server, forServer]) => queryServer(server, forServer, timeout, result))]);
      return result;
    },

    /** One key per device asked for (user -> device -> algorithm), from each user's server. */
    async claim(users: ReadonlyMap<string, Readonly<Record<string, string>>>, timeoutMs?: number): Promise<RemoteClaimResult> {
      const result: RemoteClaimResult = { one_time_keys: {}, failures: {} };
      const timeout = remoteTimeout(timeoutMs);
      await Promise.all([...byServer(users)].map(([server, forServer]) => claimServer(server, forServer, timeout, result)));
      return result;
    },

    /**
     * An m.device_list_update or m.signing_key_update from the user's own server (the caller checked the
     * origin). A device-list update applies on top of the kept list when it follows what the list has seen;
     * otherwise the list is marked stale and fetched again in the background (a query meanwhile waits for
     * that fetch). Nothing is kept for users who share no room with a local user.
     *
     * The outcome says whether local clients should be told now that the list changed ('changed'), or
     * not ('unchanged': an update already in the kept list, or malformed; or the list is being fetched,
     * and `changed` tells them once it is here, so that a client that asks again gets the new list).
     */
    async remoteUpdate(
      eduType: 'm.device_list_update' | 'm.signing_key_update',
      userId: string,
      content: Readonly<Record<string, unknown>>,
    ): Promise<RemoteUpdateOutcome> {
      // A fetch under way first: the update then applies on top of what it brought, or is already in it.
      await fetching.get(userId);
      const row = (await store.remoteDeviceLists([userId], serverName)).get(userId);
      if (row?.shared !== true) {
        if (row?.kept !== undefined) await store.forget(userId);
        return 'changed';
      }
      const current = row.kept !== undefined && !row.kept.stale && row.kept.continuous ? row.kept.list : undefined;
      if (eduType === 'm.signing_key_update') {
        // Without a current list there is nothing to update: the next query fetches the keys anyway.
        if (current !== undefined) await store.putUpdated(userId, applySigningKeyUpdate(current, userId, content), deps.clock.now());
        return 'changed';
      }
      const outcome = applyDeviceListUpdate(current, content);
      if (outcome.kind === 'apply') {
        await store.putUpdated(userId, outcome.list, deps.clock.now());
        return 'changed';
      }
      if (outcome.kind === 'resync') {
        if (row.kept !== undefined) await store.markStale(userId);
        void fetchDeviceList(userId, DEFAULT_REMOTE_KEYS_TIMEOUT_MS);
        return 'unchanged';
      }
      if (outcome.reason === 'malformed') log.info({ userId }, 'ignored a malformed m.device_list_update');
      return 'unchanged';
    },

    /** Resolves once no device list is being fetched (tests, shutdown). */
    async idle(): Promise<void> {
      while (fetching.size > 0) await Promise.all([...fetching.values()]);
    },
  };
}

export type RemoteKeys = ReturnType<typeof createRemoteKeys>;
