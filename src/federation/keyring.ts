/**
 * The keyring: other servers' signing keys, fetched directly (GET /_matrix/key/v2/server) or through the
 * configured notaries (POST /_matrix/key/v2/query), checked, kept in memory and in the database. It answers
 * the room server's KeyLookup, the inbound request check, and notary queries from other servers.
 */
import { decodeBase64, isPlainObject, signJson, verifyJsonSignature, type SigningKey } from '../crypto/index.js';
import { isServerName } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { KeyLookup, VerifyKey } from '../rooms/ports.js';
import type { FederationClient } from './client.js';
import { checkServerKeyResponse, type ServerKeyEntry } from './key-response.js';
import type { ServerKeyStore, StoredKeyResponse } from './ports.js';
import type { ServerKeysService } from './server-keys.js';

/** A notary this server asks for keys; its own keys are pinned when given, fetched from it otherwise. */
export interface TrustedKeyServer {
  readonly serverName: string;
  readonly verifyKeys?: Readonly<Record<string, string>>;
}

export interface KeyringDeps {
  readonly serverName: string;
  /** This server's keys are answered from here, never fetched. */
  readonly ownKeys: ServerKeysService;
  readonly signingKey: SigningKey;
  readonly oldVerifyKeys: Readonly<Record<string, { readonly key: string; readonly expired_ts: number }>>;
  readonly store: ServerKeyStore;
  readonly client: FederationClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly trustedKeyServers: readonly TrustedKeyServer[];
  /** A server whose answer lacked a wanted key is not asked again sooner than this. Default one minute. */
  readonly refetchIntervalMs?: number;
}

export interface KeyOptions {
  /** Only keys the server lists as current (request signatures); old_verify_keys only sign events. */
  readonly currentOnly?: boolean;
}

interface Entry extends VerifyKey {
  readonly expiredTs: number | null;
}

const MAX_NOTARY_SERVERS_PER_QUERY = 100;

export function createKeyring(deps: KeyringDeps) {
  const log = deps.log.child({ component: 'keyring' });
  const refetchIntervalMs = deps.refetchIntervalMs ?? 60_000;
  const cache = new Map<string, Map<string, Entry>>();
  const lastFetch = new Map<string, number>();
  const inFlight = new Map<string, Promise<void>>();
  const notaryFetches = new Map<string, Promise<boolean>>();

  const own = new Map<string, Entry>([[deps.signingKey.keyId, { key: deps.signingKey.publicKey, validUntilTs: Number.POSITIVE_INFINITY, expiredTs: null }]]);
  for (const [keyId, old] of Object.entries(deps.oldVerifyKeys)) {
    own.set(keyId, { key: decodeBase64(old.key), validUntilTs: old.expired_ts, expiredTs: old.expired_ts });
  }

  function toEntries(keys: readonly ServerKeyEntry[]): Map<string, Entry> {
    return new Map(keys.map((k) => [k.keyId, { key: decodeBase64(k.key), validUntilTs: k.validUntilTs, expiredTs: k.expiredTs }]));
  }

  async function known(serverName: string): Promise<Map<string, Entry>> {
    if (serverName === deps.serverName) return own;
    let entries = cache.get(serverName);
    if (entries === undefined) {
      entries = toEntries(await deps.store.serverKeys(serverName));
      cache.set(serverName, entries);
    }
    return entries;
  }

  async function reload(serverName: string): Promise<void> {
    cache.set(serverName, toEntries(await deps.store.serverKeys(serverName)));
  }

  function satisfies(entry: Entry | undefined, validAt: number, options: KeyOptions): entry is Entry {
    return entry !== undefined && (!options.currentOnly || entry.expiredTs === null) && entry.validUntilTs >= validAt;
  }

  /** Fetches the server's keys: directly, then through each notary until `keyId` is valid at `validAt`. */
  async function refresh(serverName: string, keyId: string, validAt: number, options: KeyOptions): Promise<void> {
    if (serverName === deps.serverName || !isServerName(serverName)) return;
    // A fetch under way is waited for: callers asking at once (the events of one answer) all see its keys.
    let pending = inFlight.get(serverName);
    if (pending === undefined) {
      const now = deps.clock.now();
      const last = lastFetch.get(serverName);
      if (last !== undefined && now - last < refetchIntervalMs) return;
      lastFetch.set(serverName, now);
      pending = fetchAll(serverName, keyId, validAt, options).finally(() => inFlight.delete(serverName));
      inFlight.set(serverName, pending);
    }
    await pending;
  }

  async function fetchAll(serverName: string, keyId: string, validAt: number, options: KeyOptions): Promise<void> {
    await fetchDirect(serverName);
    for (const notary of deps.trustedKeyServers) {
      if (satisfies((await known(serverName)).get(keyId), validAt, options)) return;
      if (notary.serverName === serverName) continue;
      await fetchThroughNotary(notary, serverName, keyId, validAt);
    }
  }

  async function fetchDirect(serverName: string): Promise<boolean> {
    try {
      const json = await deps.client.request<unknown>(serverName, 'GET', '/_matrix/key/v2/server');
      const checked = checkServerKeyResponse(json, serverName, deps.clock.now());
      await deps.store.saveKeyResponse(checked, deps.clock.now());
      await reload(serverName);
      return true;
    } catch (err) {
      log.info({ serverName, err: err instanceof Error ? err.message : String(err) }, 'could not fetch server keys directly');
      return false;
    }
  }

  async function notaryKey(notary: TrustedKeyServer, keyId: string): Promise<Uint8Array | undefined> {
    const pinned = notary.verifyKeys?.[keyId];
    if (pinned !== undefined) return decodeBase64(pinned);
    if (notary.verifyKeys !== undefined) return undefined;
    return (await keyValidAt(notary.serverName, keyId, deps.clock.now(), { currentOnly: true }))?.key;
  }

  async function fetchThroughNotary(notary: TrustedKeyServer, serverName: string, keyId: string, validAt: number): Promise<void> {
    try {
      const answer = await deps.client.request<{ server_keys?: unknown }>(notary.serverName, 'POST', '/_matrix/key/v2/query', {
        body: { server_keys: { [serverName]: { [keyId]: { minimum_valid_until_ts: validAt } } } },
      });
      const responses = Array.isArray(answer?.server_keys) ? answer.server_keys : [];
      for (const response of responses) {
        if (!isPlainObject(response) || response.server_name !== serverName) continue;
        const bySigner = isPlainObject(response.signatures) ? response.signatures[notary.serverName] : undefined;
        let countersigned = false;
        for (const notaryKeyId of isPlainObject(bySigner) ? Object.keys(bySigner) : []) {
          const key = await notaryKey(notary, notaryKeyId);
          if (key && verifyJsonSignature(response, notary.serverName, notaryKeyId, key)) {
            countersigned = true;
            break;
          }
        }
        if (!countersigned) {
          log.warn({ serverName, notary: notary.serverName }, 'notary answer not signed by the notary; ignored');
          continue;
        }
        const checked = checkServerKeyResponse(response, serverName, deps.clock.now());
        // The notary's countersignature is ours to check, not to keep: the stored answer is the origin's.
        const signatures = { ...(response.signatures as Record<string, unknown>) };
        delete signatures[notary.serverName];
        await deps.store.saveKeyResponse({ ...checked, json: { ...checked.json, signatures } }, deps.clock.now());
      }
      await reload(serverName);
    } catch (err) {
      log.info({ serverName, notary: notary.serverName, err: err instanceof Error ? err.message : String(err) }, 'could not fetch server keys through notary');
    }
  }

  /** The key if it is valid at `validAt`, fetching the server's keys when it is absent or expired by then. */
  async function keyValidAt(serverName: string, keyId: string, validAt: number, options: KeyOptions = {}): Promise<VerifyKey | undefined> {
    const entry = (await known(serverName)).get(keyId);
    if (satisfies(entry, validAt, options)) return { key: entry.key, validUntilTs: entry.validUntilTs };
    await refresh(serverName, keyId, validAt, options);
    const fresh = (await known(serverName)).get(keyId);
    return satisfies(fresh, validAt, options) ? { key: fresh.key, validUntilTs: fresh.validUntilTs } : undefined;
  }

  return {
    keyValidAt,

    /**
     * KeyLookup for the receive pipeline: the key with its validity, refetched when absent or (for a
     * current key) expired now; an expired key is still returned, since old events were signed before.
     */
    async verifyKey(serverName: string, keyId: string): Promise<VerifyKey | undefined> {
      const entry = (await known(serverName)).get(keyId);
      if (entry !== undefined && (entry.expiredTs !== null || entry.validUntilTs >= deps.clock.now())) {
        return { key: entry.key, validUntilTs: entry.validUntilTs };
      }
      await refresh(serverName, keyId, deps.clock.now(), {});
      const fresh = (await known(serverName)).get(keyId);
      return fresh === undefined ? undefined : { key: fresh.key, validUntilTs: fresh.validUntilTs };
    },

    /**
     * The notary's answer for some servers: for each key asked about (any key, when none is named), the
     * newest signed answer of its server that lists it, countersigned by this server. The server is asked
     * again, once at a time, when an asked-about key is unknown or its answer is not valid until the time
     * asked (now by default); if that fails or brings nothing better, the stored answers are given all the
     * same (a stale answer still lets old events be checked). Servers with no answer at all are left out.
     */
    async notaryQuery(criteria: Readonly<Record<string, NotaryCriteria>>): Promise<Record<string, unknown>[]> {
      const now = deps.clock.now();
      const results: Record<string, unknown>[] = [];
      for (const [serverName, asked] of Object.entries(criteria).slice(0, MAX_NOTARY_SERVERS_PER_QUERY)) {
        if (!isServerName(serverName)) continue;
        if (serverName === deps.serverName) {
          results.push(deps.ownKeys.serverKeys());
          continue;
        }
        const wanted = Object.entries(asked.keys);
        const answers = (stored: readonly StoredKeyResponse[]) =>
          wanted.length === 0 ? stored : stored.filter((answer) => Object.hasOwn(asked.keys, answer.keyId));
        const satisfied = (stored: readonly StoredKeyResponse[]) =>
          wanted.length === 0
            ? stored.some((answer) => answer.validUntilTs >= (asked.minimum ?? now))
            : wanted.every(([keyId, minimum]) => stored.some((answer) => answer.keyId === keyId && answer.validUntilTs >= (minimum ?? now)));
        let stored = await deps.store.keyResponses(serverName);
        if (!satisfied(stored) && (await fetchForNotary(serverName))) stored = await deps.store.keyResponses(serverName);
        // Several keys may share one answer: each answer goes out once.
        const distinct = new Map(answers(stored).map((answer) => [JSON.stringify(answer.json), answer.json]));
        for (const json of distinct.values()) results.push(signJson(json, deps.serverName, deps.signingKey));
      }
      return results;
    },
  };

  /** Fetches the server's keys for a notary query, one fetch at a time per server; true if it answered. */
  function fetchForNotary(serverName: string): Promise<boolean> {
    let pending = notaryFetches.get(serverName);
    if (pending === undefined) {
      pending = fetchDirect(serverName).finally(() => notaryFetches.delete(serverName));
      notaryFetches.set(serverName, pending);
    }
    return pending;
  }
}

/** What a notary query asks of one server. */
export interface NotaryCriteria {
  /** The key ids asked about, each with the time it should be valid until (now when absent); none: any key. */
  readonly keys: Readonly<Record<string, number | undefined>>;
  /** With no key named: the time some answer should be valid until (now when absent). */
  readonly minimum?: number;
}

export type Keyring = ReturnType<typeof createKeyring>;

/** The keyring is the room server's KeyLookup. */
export function keyLookupOf(keyring: Keyring): KeyLookup {
  return keyring;
}
