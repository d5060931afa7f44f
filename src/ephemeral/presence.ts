import { MatrixError, parseUserId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Requester } from '../users/index.js';
import { shareARoom } from './membership.js';
import type { MembershipReads, PresenceRecord, PresenceState, PresenceStore, StreamNotifier } from './ports.js';

/**
 * Presence of local users on the presence stream. A new position is written when what others see changes
 * (state, status message, becoming active); while a user stays active, syncing only bumps the last-active
 * time in place, which the spec's `currently_active` lets clients take on trust.
 */

/** How long after the last activity an online user still counts as currently active (Synapse's idle timer). */
export const CURRENTLY_ACTIVE_MS = 5 * 60_000;

/**
 * How often a user's syncs refresh their presence in storage. Between refreshes last_active_ago may read up
 * to this much older than the truth, well inside CURRENTLY_ACTIVE_MS. A presence set on another process
 * (PUT /presence there) can be overridden by this process's syncs only after the interval.
 */
export const SYNC_TOUCH_INTERVAL_MS = 30_000;

export interface PresenceContent {
  readonly presence: PresenceState;
  readonly last_active_ago?: number;
  readonly status_msg?: string;
  readonly currently_active?: boolean;
}

export interface PresenceEvent {
  readonly type: 'm.presence';
  readonly sender: string;
  readonly content: PresenceContent;
}

export interface PresenceSince {
  readonly position: number;
  readonly events: PresenceEvent[];
}

export interface PresenceDeps {
  readonly store: PresenceStore;
  readonly rooms: MembershipReads;
  readonly clock: Clock;
  readonly notify: StreamNotifier;
  /** Config `presence.enabled`: false keeps the endpoints answering but stores and sends nothing. */
  readonly enabled: boolean;
  /** Told of each change others would see (federation's m.presence); never throws. */
  readonly federate?: (userId: string, content: PresenceContent) => Promise<void>;
}

export function createPresenceService(deps: PresenceDeps) {
  const { store, rooms, clock, notify, enabled } = deps;

  const active = (record: PresenceRecord | undefined, now: number): boolean =>
    record !== undefined && record.state === 'online' && now - record.lastActiveTs < CURRENTLY_ACTIVE_MS;

  function content(record: PresenceRecord, now: number): PresenceContent {
    return {
      presence: record.state,
      last_active_ago: Math.max(0, now - record.lastActiveTs),
      ...(record.statusMsg === null ? {} : { status_msg: record.statusMsg }),
      ...(record.state === 'online' ? { currently_active: active(record, now) } : {}),
    };
  }

  /**
   * Users whose sync set their presence lately, and to what: a sync in the next SYNC_TOUCH_INTERVAL_MS
   * asking for the same state writes nothing (a long-polling client syncs many times a minute).
   */
  const touchedBySync = new Map<string, { readonly state: PresenceState; readonly at: number }>();

  /** Writes the new presence, at a new position only when others would see a difference. */
  async function update(userId: string, state: PresenceState, statusMsg: string | null, record: PresenceRecord | undefined): Promise<void> {
    const now = clock.now();
    const same = record !== undefined && record.state === state && record.statusMsg === statusMsg;
    if (same && (state !== 'online' || active(record, now))) {
      await store.touchPresence(userId, now);
      return;
    }
    const position = await store.putPresence(userId, state, statusMsg, now);
    // Everyone sharing a room with the user sees the change: naming the rooms wakes their syncs.
    notify({ position, users: [userId], rooms: await rooms.roomsWithMembership(userId, 'join') });
    await deps.federate?.(userId, content({ userId, state, statusMsg, lastActiveTs: now, streamPosition: position }, now));
  }

  return {
    /** PUT /presence/{userId}/status: only the user's own; a missing status_msg clears it. */
    async setPresence(requester: Requester, userId: string, state: PresenceState, statusMsg?: string): Promise<void> {
      if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'You cannot set the presence of another user');
      if (!enabled) return;
      touchedBySync.delete(requester.userId);
      await update(requester.userId, state, statusMsg ?? null, await store.presence(requester.userId));
    },

    /** GET /presence/{userId}/status: the user's own, or of a user sharing a room with the caller. */
    async getPresence(requester: Requester, userIdValue: string): Promise<PresenceContent> {
      const userId = parseUserId(userIdValue);
      if (userId !== requester.userId && !(await shareARoom(rooms, requester.userId, userId))) {
        throw new MatrixError('M_FORBIDDEN', 'You are not allowed to see their presence');
      }
      const record = enabled ? await store.presence(userId) : undefined;
      return record === undefined ? { presence: 'offline' } : content(record, clock.now());
    },

    /**
     * For sync's `set_presence` (default online): online marks the user online and active; unavailable
     * sets that state; offline leaves presence as it is (the spec: the client is not "connected").
     */
    async setFromSync(userId: string, state: PresenceState): Promise<void> {
      if (!enabled || state === 'offline') return;
      const now = clock.now();
      const last = touchedBySync.get(userId);
      if (last !== undefined && last.state === state && now - last.at < SYNC_TOUCH_INTERVAL_MS) return;
      // Most often the user is as they were, and active: one statement bumps the time, with no read first.
      if (!(await store.touchPresenceIfUnchanged(userId, state, now, now - CURRENTLY_ACTIVE_MS))) {
        const record = await store.presence(userId);
        await update(userId, state, record?.statusMsg ?? null, record);
      }
      // A plain bound: forgetting everyone costs each syncing user one more write.
      if (touchedBySync.size >= 100_000) touchedBySync.clear();
      touchedBySync.set(userId, { state, at: now });
    },

    /**
     * For sync: m.presence events of the users whose presence changed after `since` (since 0: all known),
     * up to `upTo` when given (a position the caller read in its snapshot), else up to the stream's own.
     */
    async presenceSince(userIds: readonly string[], since: number, upTo?: number): Promise<PresenceSince> {
      const position = upTo ?? (await store.presenceStreamPosition());
      if (!enabled || userIds.length === 0 || since >= position) return { position, events: [] };
      const now = clock.now();
      const records = await store.presenceSince(userIds, since, position);
      return {
        position,
        events: records.map((record) => ({ type: 'm.presence', sender: record.userId, content: content(record, now) })),
      };
    },

    /** For sync, on meeting users (a room newly shared): their presence now; offline for users never seen. */
    async presenceOf(userIds: readonly string[]): Promise<PresenceEvent[]> {
      if (!enabled || userIds.length === 0) return [];
      const now = clock.now();
      const records = new Map((await store.presenceSince(userIds, 0, await store.presenceStreamPosition())).map((record) => [record.userId, record]));
      return userIds.map((userId): PresenceEvent => {
        const record = records.get(userId);
        return { type: 'm.presence', sender: userId, content: record === undefined ? { presence: 'offline' } : content(record, now) };
      });
    },

    /** The presence stream's current position. */
    position: (): Promise<number> => store.presenceStreamPosition(),
  };
}

export type PresenceService = ReturnType<typeof createPresenceService>;
