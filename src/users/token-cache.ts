import type { AccountStore, TokenRecord } from './ports.js';

/**
 * Access tokens as the store last gave them, so that authenticating a request (every request a client
 * makes, each long-poll of /sync among them) costs no statement.
 *
 * What may revoke or change a cached token is a write through this store: deleting devices, logging in to
 * a known device, a password change that logs out, deactivation, a guest's upgrade and the refresh-token
 * dance. Each such write drops the user's cached tokens here once it has finished, and `announce`s the user
 * so that the other processes sharing the database drop theirs (`forgetUser`, from the bus). A read that
 * was under way while any revocation happened is answered but not kept: it may predate the revocation.
 * Entries also expire after `ttlMs`, which bounds how long a revocation whose announcement was lost (a bus
 * outage) can go unnoticed by another process.
 */

export interface TokenCacheOptions {
  readonly now: () => number;
  /** Tells the other processes that the user's tokens changed (they call `forgetUser`); never rejects. */
  readonly announce: (userId: string) => Promise<void>;
  /** Tokens kept at most; beyond it the cache starts empty again. */
  readonly maxEntries?: number;
  /** How long a token is trusted without reading it again. */
  readonly ttlMs?: number;
}

export const DEFAULT_TOKEN_CACHE_ENTRIES = 100_000;
export const DEFAULT_TOKEN_TTL_MS = 5 * 60_000;

interface Entry {
  record: TokenRecord;
  readonly cachedAt: number;
}

export type CachingAccountStore<S extends AccountStore> = S & {
  /** Drops the user's cached tokens (another process changed them). */
  forgetUser(userId: string): void;
};

export function withTokenCache<S extends AccountStore>(store: S, options: TokenCacheOptions): CachingAccountStore<S> {
  const maxEntries = options.maxEntries ?? DEFAULT_TOKEN_CACHE_ENTRIES;
  const ttlMs = options.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
  const entries = new Map<string, Entry>();
  const byUser = new Map<string, Set<string>>();
  /** Counts revocations: a read that saw it move may have raced one and is not kept. */
  let revocations = 0;
  /** Whose each token handed out on its first use after POST /refresh is: confirming it revokes the user's older ones. */
  const pendingOwners = new Map<string, string>();

  function forgetUser(userId: string): void {
    revocations++;
    for (const hash of byUser.get(userId) ?? []) entries.delete(hash);
    byUser.delete(userId);
  }

  function keep(hash: string, record: TokenRecord, now: number): void {
    if (entries.size >= maxEntries && !entries.has(hash)) {
      entries.clear();
      byUser.clear();
    }
    entries.set(hash, { record, cachedAt: now });
    let hashes = byUser.get(record.userId);
    if (hashes === undefined) byUser.set(record.userId, (hashes = new Set()));
    hashes.add(hash);
  }

  /** Runs a write that may revoke the user's tokens; they are forgotten here and elsewhere once it is done. */
  async function revoking<T>(userId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      forgetUser(userId);
      await options.announce(userId);
    }
  }

  return {
    ...store,
    forgetUser,

    async accessToken(tokenHash: string): Promise<TokenRecord | undefined> {
      const now = options.now();
      const cached = entries.get(tokenHash);
      if (cached !== undefined && now - cached.cachedAt < ttlMs) return cached.record;
      const before = revocations;
      const record = await store.accessToken(tokenHash);
      if (record === undefined) {
        entries.delete(tokenHash);
        return undefined;
      }
      if (record.refreshPending) {
        if (pendingOwners.size >= maxEntries) pendingOwners.clear();
        pendingOwners.set(tokenHash, record.userId);
      }
      if (revocations === before) keep(tokenHash, record, now);
      return record;
    },

    async touchDevice(userId, deviceId, nowMs, ip, userAgent) {
      // The cached records learn the new last-seen values at once, so the next request does not touch again.
      for (const hash of byUser.get(userId) ?? []) {
        const entry = entries.get(hash);
        if (entry?.record.deviceId !== deviceId) continue;
        entry.record = { ...entry.record, lastSeenTs: nowMs, lastSeenIp: ip ?? entry.record.lastSeenIp };
      }
      await store.touchDevice(userId, deviceId, nowMs, ip, userAgent);
    },

    confirmRefresh: async (tokenHash) => {
      const owner = entries.get(tokenHash)?.record.userId ?? pendingOwners.get(tokenHash);
      pendingOwners.delete(tokenHash);
      if (owner === undefined) {
        // Never handed out here (the port allows a confirmation without a read): every cached token goes.
        revocations++;
        entries.clear();
        byUser.clear();
        return store.confirmRefresh(tokenHash);
      }
      return revoking(owner, () => store.confirmRefresh(tokenHash));
    },
    refreshSession: async (refreshTokenHash, next, nowMs) => {
      const owner = await store.refreshSession(refreshTokenHash, next, nowMs);
      if (owner !== undefined && owner !== 'locked') {
        forgetUser(owner.userId);
        await options.announce(owner.userId);
      }
      return owner;
    },
    startDeviceSession: (userId, session, nowMs) => revoking(userId, () => store.startDeviceSession(userId, session, nowMs)),
    deleteDevice: (userId, deviceId) => revoking(userId, () => store.deleteDevice(userId, deviceId)),
    deleteDevices: (userId, deviceIds) => revoking(userId, () => store.deleteDevices(userId, deviceIds)),
    deleteAllDevices: (userId) => revoking(userId, () => store.deleteAllDevices(userId)),
    setPassword: (userId, passwordHash, logoutExcept) => revoking(userId, () => store.setPassword(userId, passwordHash, logoutExcept)),
    deactivateUser: (userId, erase) => revoking(userId, () => store.deactivateUser(userId, erase)),
    upgradeGuest: (userId, passwordHash, session, nowMs) => revoking(userId, () => store.upgradeGuest(userId, passwordHash, session, nowMs)),
    // The tokens stay valid; the records cached for them carry the old lock and suspension.
    setModeration: (userId, change) => revoking(userId, () => store.setModeration(userId, change)),
  };
}
