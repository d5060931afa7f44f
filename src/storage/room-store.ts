import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { parseStateKey, stateKey, type RoomEvent, type StateKey, type StateMap } from '../events/index.js';
import type { RoomReads, RoomRecord, RoomStore, RoomWrites, StoredEvent, TransactionKey, WriteLockOptions, WritePrefetch } from '../rooms/index.js';
import type { CommittedEvent, StreamWindow, WindowTransaction } from './stream-window.js';
import { storedEventFromRow, type EventRow } from './event-rows.js';
import { DEFAULT_EVENT_CACHE_SIZE, EventCache } from './event-cache.js';
import { ADVISORY_LOCK_NAMESPACE } from './migrate.js';
import { beginLocked, commitNow } from './client.js';
import { persistEvents, type PersistHooks } from './persist-events.js';
import { loadGroupState, StateCache, type Query } from './state-groups.js';
import { forgetRoom, timelineReads } from './room-timeline.js';
import { relationReads } from './relations.js';

export interface RoomStoreOptions {
  /** State entries the cache of full states (by state group) may hold in total. Default 200,000. */
  readonly stateCacheEntries?: number;
  /** The process's cache of events by id, shared with the sync store. Default: one of its own. */
  readonly eventCache?: EventCache;
  /** Rooms' versions and creators (they never change). Default: one of its own. */
  readonly roomCache?: RoomCache;
  /** /sync's stream window (the sync store's), handed the local events this store commits. Default: none. */
  readonly streamWindow?: StreamWindow;
}

/** Rooms kept at most; beyond it the cache starts empty again. */
const MAX_CACHED_ROOMS = 100_000;

/** Each room's record (version, creator), read once: a room's row never changes and is never deleted. */
export class RoomCache {
  readonly #rooms = new Map<string, RoomRecord>();

  get(roomId: string): RoomRecord | undefined {
    return this.#rooms.get(roomId);
  }

  set(room: RoomRecord): void {
    if (this.#rooms.size >= MAX_CACHED_ROOMS) this.#rooms.clear();
    this.#rooms.set(room.roomId, room);
  }
}

/** Events whose state groups are kept at most; beyond it the memo starts empty again. */
const MAX_EVENT_GROUPS = 100_000;

/**
 * The state groups before and after the events this process stored lately, so that asking for the state
 * around one (the federation sender does, for every event it looks through) needs no statement. An event's
 * groups never change once it has them.
 */
class EventGroups {
  readonly #groups = new Map<string, { readonly before: number; readonly after: number }>();

  of(eventId: string): { readonly before: number; readonly after: number } | undefined {
    return this.#groups.get(eventId);
  }

  get(eventId: string, column: 'state_before' | 'state_after'): number | undefined {
    const groups = this.#groups.get(eventId);
    return groups === undefined ? undefined : column === 'state_before' ? groups.before : groups.after;
  }

  set(eventId: string, before: number, after: number): void {
    if (this.#groups.size >= MAX_EVENT_GROUPS) this.#groups.clear();
    this.#groups.set(eventId, { before, after });
  }
}

interface ReadsOptions {
  /** Whether what is read goes into the caches: not inside a write transaction, which may roll back. */
  readonly fill?: boolean;
  readonly rooms?: RoomCache;
  /** Consulted only (filled after commits by withRoomWriteLock). */
  readonly groups?: EventGroups;
}

/** What a write transaction's reads take from memory. */
interface WriteMemory {
  readonly cache: StateCache;
  readonly events: EventCache;
  readonly rooms: RoomCache;
  readonly groups: EventGroups;
}

/**
 * The room server's storage (src/rooms/ports.ts) on migrations/0002_rooms.sql. Reads run on whatever
 * connection the pool gives; withRoomWriteLock runs its callback in one transaction, every query of it on
 * that transaction (the embedded engine has one connection, so anything else would wait for itself).
 */
export function createRoomStore(sql: postgres.Sql, options: RoomStoreOptions = {}): RoomStore {
  const cache = new StateCache(options.stateCacheEntries ?? 200_000);
  const eventCache = options.eventCache ?? new EventCache(DEFAULT_EVENT_CACHE_SIZE);
  const rooms = options.roomCache ?? new RoomCache();
  const groups = new EventGroups();
  return {
    ...roomReadsOn(sql, cache, eventCache, { rooms, groups }),
    async withRoomWriteLock<T>(roomId: string, fn: (tx: RoomWrites) => Promise<T>, lockOptions: WriteLockOptions = {}): Promise<T> {
      // Outliers the transaction moves onto the timeline: their cached copies go once it commits. The state
      // groups of the events it stores are remembered then.
      const moved: string[] = [];
      const stored: Array<readonly [string, number, number]> = [];
      const hooks: PersistHooks = { moved: (eventId) => moved.push(eventId), stored: (eventId, before, after) => stored.push([eventId, before, after]) };
      const fresh: FreshWrites = { events: [], rooms: new Map(), transactions: new Map() };
      // The room's lock is taken with BEGIN, in the same round trip, and the prefetched reads go right behind it.
      const { prefetch } = lockOptions;
      let opened: RoomWrites | undefined;
      const open = (tx: postgres.TransactionSql) =>
        (opened ??= writes(tx, { cache, events: eventCache, rooms, groups }, hooks, fresh, prefetch && { roomId, ...prefetch }));
      const result = await beginLocked(sql, roomLockKey(roomId), (tx) => fn(open(tx)), prefetch && ((tx) => void open(tx)));
      for (const eventId of moved) eventCache.delete(eventId);
      for (const [eventId, before, after] of stored) groups.set(eventId, before, after);
      for (const room of fresh.rooms.values()) rooms.set(room);
      if (options.streamWindow !== undefined && fresh.events.length > 0) options.streamWindow.append(committedEvents(fresh, groups, rooms));
      return result;
    },
    forgetRoom: (userId, roomId, membershipEventId) => forgetRoom(sql, userId, roomId, membershipEventId),
    async backfillPositions(count: number): Promise<number[]> {
      if (count <= 0) return [];
      const rows = await sql<{ position: number }[]>`
        select -nextval('events_backfill_seq') as position from generate_series(1, ${count})`;
      return rows.map((row) => Number(row.position)).sort((a, b) => a - b);
    },
  };
}

/**
 * A single-bigint advisory key: Hearth's namespace in the high 32 bits, 32 bits of SHA-256 of the room id
 * below. Two rooms sharing a key only take turns needlessly. The two-int4 keys (migrate.ts) are a separate
 * key space, so they cannot collide with these.
 */
export function roomLockKey(roomId: string): string {
  const hash = createHash('sha256').update(roomId).digest().readUInt32BE(0);
  return ((BigInt(ADVISORY_LOCK_NAMESPACE) << 32n) | BigInt(hash)).toString();
}

/**
 * The room reads on any query runner: the pool, or a transaction (sync's snapshot reads through it).
 * `events` caches the events read, and `options.rooms` the rooms: inside a write transaction, whose rows may
 * roll back, pass `fill: false`, and they are only consulted (for timeline events and rooms, which never change).
 */
export function roomReadsOn(q: Query, cache: StateCache, eventCache?: EventCache, options: ReadsOptions = {}): RoomReads {
  const fill = options.fill ?? true;
  const rooms = options.rooms;
  async function groupOf(eventId: string, column: 'state_before' | 'state_after'): Promise<StateMap | undefined> {
    const known = options.groups?.get(eventId, column);
    if (known !== undefined) return loadGroupState(q, cache, known);
    const [row] = await q<{ state_group: number | null }[]>`
      select ${q(column)} as state_group from events where event_id = ${eventId}`;
    if (row?.state_group === undefined || row.state_group === null) return undefined;
    return loadGroupState(q, cache, row.state_group);
  }

  return {
    async room(roomId: string): Promise<RoomRecord | undefined> {
      const known = rooms?.get(roomId);
      if (known !== undefined) return known;
      const [row] = await q<{ room_id: string; room_version: string; creator: string }[]>`
        select room_id, room_version, creator from rooms where room_id = ${roomId}`;
      if (row === undefined) return undefined;
      const room = { roomId: row.room_id, roomVersion: row.room_version, creator: row.creator };
      if (fill) rooms?.set(room);
      return room;
    },

    async events(eventIds: readonly string[]): Promise<Map<string, StoredEvent>> {
      const found = new Map<string, StoredEvent>();
      const missing: string[] = [];
      for (const id of new Set(eventIds)) {
        const cached = eventCache?.get(id);
        // Without filling (a write transaction) only timeline events are taken: they never change, while an
        // outlier may be moving onto the timeline in a transaction not yet committed.
        if (cached === undefined || (!fill && cached.streamPosition === null)) missing.push(id);
        else found.set(id, cached);
      }
      if (missing.length === 0) return found;
      const rows = await q<EventRow[]>`
        select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
          e.soft_failed, e.stream_position, r.room_version
        from events e join rooms r on r.room_id = e.room_id
        where e.event_id = any(${q.array(missing)}::text[])`;
      for (const row of rows) {
        const event = storedEventFromRow(row);
        if (fill) eventCache?.set(event);
        found.set(row.event_id, event);
      }
      return found;
    },

    async forwardExtremities(roomId: string): Promise<string[]> {
      const rows = await q<{ event_id: string }[]>`select event_id ${extremitiesFrom(q, roomId)} order by event_id`;
      return rows.map((row) => row.event_id);
    },

    async currentState(roomId: string): Promise<StateMap> {
      const rows = await q<StateRow[]>`
        select type, state_key, event_id from current_state where room_id = ${roomId}`;
      return stateMapOf(rows);
    },

    async currentStateEntries(roomId: string, keys: readonly StateKey[]): Promise<StateMap> {
      if (keys.length === 0) return new Map();
      const rows = await q<StateRow[]>`select c.type, c.state_key, c.event_id ${stateEntriesFrom(q, roomId, keys)}`;
      return stateMapOf(rows);
    },

    stateBefore: (eventId: string) => groupOf(eventId, 'state_before'),
    stateAfter: (eventId: string) => groupOf(eventId, 'state_after'),

    async eventsStreamPosition(): Promise<number> {
      // Commits happen in position order (persist-events.ts), so the highest visible position has no
      // uncommitted position below it.
      const [row] = await q<{ position: number }[]>`
        select coalesce(max(stream_position), 0) as position from events`;
      return row?.position ?? 0;
    },

    async roomsWithMembership(userId: string, membership: string): Promise<string[]> {
      // The partial index current_state_members finds the user's member events; the JSON is read for those only.
      const rows = await q<{ room_id: string }[]>`
        select c.room_id
        from current_state c join events e on e.event_id = c.event_id
        where c.type = 'm.room.member' and c.state_key = ${userId}
          and (e.json::jsonb -> 'content' ->> 'membership') = ${membership}
        order by c.room_id`;
      return rows.map((row) => row.room_id);
    },

    async hasJoinedMember(roomId: string, serverName: string): Promise<boolean> {
      // A user id ends in ':' + its server name; server names hold no LIKE wildcards ('%', '_').
      const [row] = await q<{ found: boolean }[]>`
        select exists (
          select 1 from current_state c join events e on e.event_id = c.event_id
          where c.room_id = ${roomId} and c.type = 'm.room.member' and c.state_key like ${'%:' + serverName}
            and (e.json::jsonb -> 'content' ->> 'membership') = 'join'
        ) as found`;
      return row?.found === true;
    },

    ...timelineReads(q, cache),
    ...relationReads(q),
  };
}

/** What a write transaction made and learnt, kept once it commits: fresh events, rooms, client transactions. */
interface FreshWrites {
  readonly events: Array<{ readonly event: RoomEvent; readonly position: number }>;
  /** The rooms the transaction read or created: known to exist once it commits. */
  readonly rooms: Map<string, RoomRecord>;
  /** By event id: the client transactions recorded for it (the window keeps its sender's). */
  readonly transactions: Map<string, Array<WindowTransaction & { readonly userId: string }>>;
}

/**
 * The fresh events of a committed transaction as the stream window keeps them, in position order; they
 * stop at the first one whose room or state groups the process does not know (the window then reads it).
 */
function committedEvents(fresh: FreshWrites, groups: EventGroups, rooms: RoomCache): CommittedEvent[] {
  const result: CommittedEvent[] = [];
  for (const { event, position } of [...fresh.events].sort((a, b) => a.position - b.position)) {
    const room = rooms.get(event.roomId);
    const states = groups.of(event.eventId);
    if (room === undefined || states === undefined) break;
    result.push({
      position,
      stored: { event, roomVersion: room.roomVersion, outlier: false, rejectedReason: null, softFailed: false, streamPosition: position },
      stateBefore: states.before,
      stateAfter: states.after,
      transactions: (fresh.transactions.get(event.eventId) ?? [])
        .filter((transaction) => transaction.userId === event.sender)
        .map(({ deviceId, txnId }) => ({ deviceId, txnId })),
    });
  }
  return result;
}

/** The answers of a write transaction's prefetched reads (WritePrefetch), sent before its lock was held. */
interface Prefetched {
  readonly roomId: string;
  readonly extremities?: Promise<string[]>;
  readonly state?: { readonly keys: ReadonlySet<StateKey>; readonly entries: Promise<StateMap> };
  readonly transaction?: { readonly key: TransactionKey; readonly eventId: Promise<string | undefined> };
}

/** The room's forward extremities, as a FROM clause. */
function extremitiesFrom(q: Query, roomId: string) {
  return q`from forward_extremities where room_id = ${roomId}`;
}

/** The room's current state under `keys` (not empty), as a FROM clause over current_state `c`. */
function stateEntriesFrom(q: Query, roomId: string, keys: readonly StateKey[]) {
  const { types, stateKeys } = splitKeys(keys);
  return q`
    from current_state c
    join unnest(${q.array(types)}::text[], ${q.array(stateKeys)}::text[]) as k (type, state_key)
      on k.type = c.type and k.state_key = c.state_key
    where c.room_id = ${roomId}`;
}

/** A client transaction's row in event_transactions, as a FROM clause. */
function transactionFrom(q: Query, key: TransactionKey) {
  return q`
    from event_transactions
    where user_id = ${key.userId} and device_id = ${key.deviceId} and room_id = ${key.roomId} and txn_id = ${key.txnId}`;
}

/** A prefetched read's row: which read it answers ('e' extremity, 's' state entry, 't' transaction event), and its answer. */
interface PrefetchRow {
  readonly kind: 'e' | 's' | 't';
  readonly event_id: string;
  readonly type: string | null;
  readonly state_key: string | null;
}

/**
 * Sends the prefetched reads as one statement, whose rows are told apart by `kind`: a send's three reads
 * (extremities, auth state, transaction id) cost the server one statement instead of three. Each read's
 * answer is its own promise, as a read of its own would give; `quiet` keeps a failure from going unhandled.
 */
function prefetchedReads(q: postgres.TransactionSql, prefetch: WritePrefetch & { readonly roomId: string }, quiet: <T>(promise: Promise<T>) => Promise<T>): Prefetched {
  const { roomId, transaction } = prefetch;
  const stateKeys = prefetch.stateKeys ?? [];
  // The same FROM clauses as the reads of their own (forwardExtremities, currentStateEntries, transactionEvent).
  const reads = [
    ...(prefetch.extremities ? [q`select 'e' as kind, event_id, null::text as type, null::text as state_key ${extremitiesFrom(q, roomId)}`] : []),
    ...(stateKeys.length > 0 ? [q`select 's' as kind, c.event_id, c.type, c.state_key ${stateEntriesFrom(q, roomId, stateKeys)}`] : []),
    ...(transaction ? [q`select 't' as kind, event_id, null::text as type, null::text as state_key ${transactionFrom(q, transaction)}`] : []),
  ];
  // Extremities in the order forwardExtremities gives them (the database's order of their ids).
  const rows = reads.length === 0 ? Promise.resolve([]) : quiet(q<PrefetchRow[]>`${reads.reduce((all, read) => q`${all} union all ${read}`)} order by kind, event_id`);
  const pick = <T>(answer: (rows: readonly PrefetchRow[]) => T) => quiet(rows.then(answer));
  return {
    roomId,
    ...(prefetch.extremities ? { extremities: pick((all) => all.filter((row) => row.kind === 'e').map((row) => row.event_id)) } : {}),
    ...(prefetch.stateKeys ? {
      state: {
        keys: new Set(prefetch.stateKeys),
        entries: pick((all) => stateMapOf(all.filter((row): row is PrefetchRow & StateRow => row.kind === 's'))),
      },
    } : {}),
    ...(transaction ? { transaction: { key: transaction, eventId: pick((all) => all.find((row) => row.kind === 't')?.event_id) } } : {}),
  };
}

/** The methods of RoomWrites that write: after any of them, prefetched answers may be stale. */
const WRITE_METHODS: ReadonlySet<string | symbol> = new Set<keyof RoomWrites>([
  'createRoom', 'persistEvents', 'setForwardExtremities', 'setCurrentState', 'updateCurrentState', 'recordTransaction',
]);

function writes(q: postgres.TransactionSql, memory: WriteMemory, hooks: PersistHooks, fresh: FreshWrites, prefetch?: WritePrefetch & { readonly roomId: string }): RoomWrites {
  const { cache } = memory;
  /** The transaction went out with its last events (persistEvents with `last`): nothing more may use it. */
  let committed = false;
  // Committed things the process knows are taken from memory; nothing read here goes into it (it may roll back).
  const base = roomReadsOn(q, cache, memory.events, { fill: false, rooms: memory.rooms, groups: memory.groups });

  async function transactionEvent(key: TransactionKey): Promise<string | undefined> {
    const [row] = await q<{ event_id: string }[]>`select event_id ${transactionFrom(q, key)}`;
    return row?.event_id;
  }

  // Sent now, before the lock is held (see beginLocked); until the transaction writes, its reads of the
  // same things get these answers. A failed one fails the read that takes it, or nothing.
  const quiet = <T>(promise: Promise<T>): Promise<T> => {
    promise.catch(() => undefined);
    return promise;
  };
  let prefetched: Prefetched | undefined = prefetch && prefetchedReads(q, prefetch, quiet);

  async function upsertCurrentState(roomId: string, entries: ReadonlyMap<StateKey, string>): Promise<void> {
    if (entries.size === 0) return;
    const { types, stateKeys } = splitKeys([...entries.keys()]);
    await q`
      insert into current_state (room_id, type, state_key, event_id)
      select ${roomId}, * from unnest(${q.array(types)}::text[], ${q.array(stateKeys)}::text[],
        ${q.array([...entries.values()])}::text[])
      on conflict (room_id, type, state_key) do update set event_id = excluded.event_id
        where current_state.event_id <> excluded.event_id`;
  }

  const methods: RoomWrites = {
    ...base,

    async forwardExtremities(roomId: string): Promise<string[]> {
      const early = prefetched?.roomId === roomId ? prefetched.extremities : undefined;
      return early ? [...(await early)] : base.forwardExtremities(roomId);
    },

    async currentStateEntries(roomId: string, keys: readonly StateKey[]): Promise<StateMap> {
      const early = prefetched?.roomId === roomId ? prefetched.state : undefined;
      if (early === undefined || !keys.every((key) => early.keys.has(key))) return base.currentStateEntries(roomId, keys);
      const entries = await early.entries;
      return new Map(keys.flatMap((key) => {
        const eventId = entries.get(key);
        return eventId === undefined ? [] : [[key, eventId] as const];
      }));
    },

    async room(roomId: string): Promise<RoomRecord | undefined> {
      const room = await base.room(roomId);
      if (room !== undefined) fresh.rooms.set(roomId, room);
      return room;
    },

    async createRoom(room: RoomRecord): Promise<void> {
      await q`
        insert into rooms (room_id, room_version, creator)
        values (${room.roomId}, ${room.roomVersion}, ${room.creator})`;
      fresh.rooms.set(room.roomId, room);
    },

    async persistEvents(roomId, events, options) {
      const persistHooks: PersistHooks = options?.fresh ? { ...hooks, fresh: true, groupsOf: (eventId) => memory.groups.of(eventId) } : hooks;
      if (options?.last) committed = true;
      const positions = await persistEvents(q, cache, roomId, events, options?.last ? { ...persistHooks, commit: () => commitNow(q) } : persistHooks);
      if (options?.fresh) {
        events.forEach(({ event, outlier, rejectedReason }, i) => {
          const position = positions[i];
          if (!outlier && rejectedReason === null && position !== null && position !== undefined && position > 0) fresh.events.push({ event, position });
        });
      }
      return positions;
    },

    async setForwardExtremities(roomId: string, eventIds: readonly string[]): Promise<void> {
      const ids = q.array([...new Set(eventIds)]);
      // The deleted and inserted rows are disjoint, so one statement can do both.
      await q`
        with removed as (
          delete from forward_extremities where room_id = ${roomId} and event_id <> all(${ids}::text[])
        )
        insert into forward_extremities (room_id, event_id)
        select ${roomId}, * from unnest(${ids}::text[])
        on conflict do nothing`;
    },

    async setCurrentState(roomId: string, state: StateMap): Promise<void> {
      const current = await base.currentState(roomId);
      const removed = [...current.keys()].filter((key) => !state.has(key));
      const changed = new Map([...state].filter(([key, eventId]) => current.get(key) !== eventId));
      if (removed.length > 0) {
        const { types, stateKeys } = splitKeys(removed);
        await q`
          delete from current_state c
          using unnest(${q.array(types)}::text[], ${q.array(stateKeys)}::text[]) as k (type, state_key)
          where c.room_id = ${roomId} and c.type = k.type and c.state_key = k.state_key`;
      }
      await upsertCurrentState(roomId, changed);
    },

    updateCurrentState: upsertCurrentState,

    async transactionEvent(key: TransactionKey): Promise<string | undefined> {
      const early = prefetched?.transaction;
      const same = early !== undefined && early.key.userId === key.userId && early.key.deviceId === key.deviceId &&
        early.key.roomId === key.roomId && early.key.txnId === key.txnId;
      return same ? early.eventId : transactionEvent(key);
    },

    async recordTransaction(key: TransactionKey, eventId: string): Promise<void> {
      await q`
        insert into event_transactions (user_id, device_id, room_id, txn_id, event_id)
        values (${key.userId}, ${key.deviceId}, ${key.roomId}, ${key.txnId}, ${eventId})`;
      fresh.transactions.set(eventId, [...(fresh.transactions.get(eventId) ?? []), { deviceId: key.deviceId, txnId: key.txnId, userId: key.userId }]);
    },
  };
  // After an early commit a further use would run outside the transaction: it is refused instead.
  return new Proxy(methods, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (committed) throw new Error(`the room write transaction has committed; ${String(prop)} cannot use it`);
        if (WRITE_METHODS.has(prop)) prefetched = undefined;
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

interface StateRow {
  readonly type: string;
  readonly state_key: string;
  readonly event_id: string;
}

function stateMapOf(rows: readonly StateRow[]): Map<StateKey, string> {
  const state = new Map<StateKey, string>();
  for (const row of rows) state.set(stateKey(row.type, row.state_key), row.event_id);
  return state;
}

function splitKeys(keys: readonly StateKey[]): { types: string[]; stateKeys: string[] } {
  const types: string[] = [];
  const stateKeys: string[] = [];
  for (const key of keys) {
    const [type, stateKeyValue] = parseStateKey(key);
    types.push(type);
    stateKeys.push(stateKeyValue);
  }
  return { types, stateKeys };
}
