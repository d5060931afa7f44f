import type postgres from 'postgres';
import { stateKey, type StateMap } from '../events/index.js';
import type { MembershipRow, ReadMarks, SnapshotPositions, Standing, SyncReads, SyncStore, TimelinePage } from '../sync/index.js';
import type { StoredEvent } from '../rooms/index.js';
import { storedEventFromRow, type EventRow } from './event-rows.js';
import { DEFAULT_EVENT_CACHE_SIZE, EventCache } from './event-cache.js';
import { roomReadsOn } from './room-store.js';
import { accountDataSince } from './user-data-store.js';
import { keyCountRows, keyCountsFrom } from './keys-store.js';
import { loadGroupState, StateCache, type Query } from './state-groups.js';
import { StreamWindow, type StreamWindowLimits } from './stream-window.js';

export interface SyncStoreOptions {
  /** State entries the cache of full states may hold in total. Default 100,000. */
  readonly stateCacheEntries?: number;
  /** The process's cache of events by id, shared with the room store. Default: one of its own. */
  readonly eventCache?: EventCache;
  /**
   * Keep the newest stretch of the events stream in memory (stream-window.ts), so a woken sync reads its
   * timelines, membership changes and state positions from it: false for none, the window's limits, or
   * a window made by the caller (shared with the room store, which hands it the events it commits).
   * Default: a window with DEFAULT_STREAM_WINDOW_LIMITS.
   */
  readonly streamWindow?: false | StreamWindowLimits | StreamWindow;
}

/**
 * /sync's reads (src/sync/ports.ts) on the rooms, transactions and user-data tables. Each snapshot is a
 * read-only repeatable-read transaction: every read sees the same committed data, and the stream maxima
 * read in it bound everything else read in it.
 */
export function createSyncStore(sql: postgres.Sql, options: SyncStoreOptions = {}): SyncStore {
  const cache = new StateCache(options.stateCacheEntries ?? 100_000);
  const events = options.eventCache ?? new EventCache(DEFAULT_EVENT_CACHE_SIZE);
  const given = options.streamWindow;
  const window = given === false ? undefined : given instanceof StreamWindow ? given : new StreamWindow(events, given);
  const memory: Memory = { cache, events, window, joined: new JoinedMembersMemo(), standing: new StandingBatcher(sql) };
  const inTransaction = <T>(fn: (reads: SyncReads) => Promise<T>): Promise<T> =>
    sql.begin('isolation level repeatable read read only', (tx) => fn(syncReads(tx, memory))) as Promise<T>;
  return {
    async snapshot<T>(fn: (reads: SyncReads) => Promise<T>): Promise<T> {
      if (window === undefined) return inTransaction(fn);
      // First without a transaction: one statement is a snapshot of its own. If everything after the
      // standing read comes from memory, that was the whole sync; the first read that would need another
      // statement abandons the attempt, and the sync runs again in a repeatable-read transaction.
      try {
        return await fn(syncReads(SNAPSHOT_NEEDED, memory, sql));
      } catch (err) {
        if (err instanceof SnapshotNeeded) return inTransaction(fn);
        throw err;
      }
    },
  };
}

/** How every m.room.member state key begins (stateKey's JSON form). */
const MEMBER_KEY_PREFIX = stateKey('m.room.member', '').slice(0, -3);

/** What the reads of every snapshot share: caches of immutable things, and the stream window. */
interface Memory {
  readonly cache: StateCache;
  readonly events: EventCache;
  readonly window: StreamWindow | undefined;
  readonly joined: JoinedMembersMemo;
  readonly standing: StandingBatcher;
}

/** Thrown by a read of the attempt without a transaction that needs a statement of its own. */
class SnapshotNeeded extends Error {
  constructor() {
    super('this read needs a snapshot transaction');
  }
}

/**
 * The query function of the attempt without a transaction: a statement it would send throws SnapshotNeeded
 * instead. Its helpers (`q.array`, built before the statement) hand their value back unused; it is no
 * promise (`then` is absent), so nothing awaits it by mistake.
 */
const SNAPSHOT_NEEDED = new Proxy(() => {
  throw new SnapshotNeeded();
}, {
  get: (target, prop) => {
    if (prop === 'then') return undefined;
    return prop === 'array' ? (value: unknown) => value : target;
  },
}) as unknown as Query;

/** Joined members per state group (groups never change), bounded by the members it holds in all. */
class JoinedMembersMemo {
  readonly #groups = new Map<number, readonly string[]>();
  #members = 0;

  constructor(private readonly maxMembers = 200_000) {}

  get(group: number): readonly string[] | undefined {
    return this.#groups.get(group);
  }

  set(group: number, members: readonly string[]): void {
    if (members.length > this.maxMembers) return;
    if (this.#members + members.length > this.maxMembers) {
      this.#groups.clear();
      this.#members = 0;
    }
    this.#groups.set(group, members);
    this.#members += members.length;
  }
}

interface MemberRow {
  readonly room_id: string;
  readonly event_id: string;
  readonly membership: string | null;
  readonly stream_position: number | null;
}

/** The streams' maxima, as columns. Each stream commits in position order: nothing below its maximum is missing. */
function positionColumns(q: Query) {
  return q`
    (select coalesce(max(stream_position), 0) from events) as events,
    (select coalesce(max(stream_position), 0) from account_data) as account_data,
    (select coalesce(max(stream_position), 0) from receipts) as receipts,
    (select coalesce(max(position), 0) from to_device_stream) as to_device,
    (select coalesce(max(position), 0) from device_list_changes) as device_lists,
    (select coalesce(max(stream_position), 0) from presence) as presence,
    (select coalesce(max(stream_position), 0) from room_peeks) as peeks`;
}

interface PositionRow {
  readonly events: number;
  readonly account_data: number;
  readonly receipts: number;
  readonly to_device: number;
  readonly device_lists: number;
  readonly presence: number;
  readonly peeks: number;
}

const snapshotPositions = (row: PositionRow): SnapshotPositions => ({
  events: row.events,
  accountData: row.account_data,
  receipts: row.receipts,
  toDevice: row.to_device,
  deviceLists: row.device_lists,
  presence: row.presence,
  peeks: row.peeks,
});

/**
 * The standing reads of several syncs (user and device each) in one statement: the streams' maxima once, and
 * each requester's memberships, forgotten rooms, account data of the given types and key counts, in order.
 */
async function standingReads(q: Query, requesters: readonly StandingRequest[], accountDataTypes: readonly string[]): Promise<StandingRow[]> {
  const rows = await q<Array<StandingRow & { readonly i: number }>>`
    select w.i, ${positionColumns(q)},
      (select coalesce(json_agg(json_build_object('room_id', c.room_id, 'event_id', c.event_id,
          'stream_position', e.stream_position, 'membership', e.json::jsonb -> 'content' ->> 'membership') order by c.room_id), '[]')
        from current_state c join events e on e.event_id = c.event_id
        where c.type = 'm.room.member' and c.state_key = w.user_id) as memberships,
      (select coalesce(json_agg(f.room_id order by f.room_id), '[]') from forgotten_rooms f
        join current_state c on c.room_id = f.room_id and c.type = 'm.room.member' and c.state_key = f.user_id
        where f.user_id = w.user_id and c.event_id = f.membership_event_id) as forgotten,
      (select coalesce(json_object_agg(type, content), '{}') from account_data
        where user_id = w.user_id and room_id = '' and type = any(${q.array([...accountDataTypes])}::text[])
          and stream_position > w.account_data_after) as account_data_contents,
      (select coalesce(json_object_agg(type, stream_position), '{}') from account_data
        where user_id = w.user_id and room_id = '' and type = any(${q.array([...accountDataTypes])}::text[])) as account_data_positions,
      (select coalesce(json_agg(k), '[]') from (${keyCountRows(q, q`w.user_id`, q`w.device_id`)}) k) as key_counts,
      (select coalesce(json_agg(json_build_object('room_id', p.room_id, 'stream_position', p.stream_position) order by p.room_id), '[]')
        from room_peeks p where p.user_id = w.user_id and p.device_id = w.device_id and p.peeking) as peeked_rooms
    from unnest(${q.array(requesters.map((r) => r.userId))}::text[], ${q.array(requesters.map((r) => r.deviceId))}::text[],
        ${q.array(requesters.map((r) => r.accountDataAfter))}::bigint[])
      with ordinality as w (user_id, device_id, account_data_after, i)
    order by w.i`;
  return rows;
}

/** Requesters one batched standing read takes at most. */
const MAX_STANDING_BATCH = 500;

/**
 * Gathers the standing reads of the syncs one notice wakes (they ask within the same turn of the event
 * loop) into one statement on the pool, rather than a statement each. One statement is one snapshot: every
 * sync of the batch sees the same stream positions, as it would have a moment later.
 */
class StandingBatcher {
  #pending: Array<StandingRequest & {
    readonly types: readonly string[];
    readonly resolve: (row: StandingRow) => void;
    readonly reject: (err: unknown) => void;
  }> = [];

  constructor(private readonly sql: Query) {}

  read(request: StandingRequest, types: readonly string[]): Promise<StandingRow> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => this.#flush());
      // Not a spread followed by new keys, which V8 (Node 20) builds in its slow path: one per sync.
      this.#pending.push({ userId: request.userId, deviceId: request.deviceId, accountDataAfter: request.accountDataAfter, types, resolve, reject });
    });
  }

  #flush(): void {
    const all = this.#pending;
    this.#pending = [];
    for (let start = 0; start < all.length; start += MAX_STANDING_BATCH) {
      const batch = all.slice(start, start + MAX_STANDING_BATCH);
      const types = [...new Set(batch.flatMap((entry) => entry.types))];
      standingReads(this.sql, batch, types).then(
        (rows) => batch.forEach((entry, i) => (rows[i] === undefined ? entry.reject(new Error('the standing read returned no row')) : entry.resolve(rows[i]))),
        (err: unknown) => batch.forEach((entry) => entry.reject(err)),
      );
    }
  }
}

/** Whose standing a read is for, and the account-data position up to which the caller holds the contents. */
interface StandingRequest {
  readonly userId: string;
  readonly deviceId: string;
  readonly accountDataAfter: number;
}

/** The standing read's row: json columns come back parsed. */
interface StandingRow extends PositionRow {
  readonly memberships: MemberRow[];
  readonly forgotten: string[];
  /** Account data content is stored as text: json_object_agg keeps it a JSON string per type. */
  readonly account_data_contents: Record<string, string>;
  /** Per type the user has, the position of its latest write. */
  readonly account_data_positions: Record<string, number | string>;
  readonly key_counts: Parameters<typeof keyCountsFrom>[0];
  /** The rooms the device peeks into, each with the peeks-stream position of its peek. */
  readonly peeked_rooms: Array<{ readonly room_id: string; readonly stream_position: number | string }>;
}

const membershipRow = (row: MemberRow): MembershipRow => ({
  roomId: row.room_id,
  eventId: row.event_id,
  membership: row.membership ?? 'leave',
  position: row.stream_position,
});

/**
 * The reads of one snapshot through `q`: a transaction, or SNAPSHOT_NEEDED for the attempt without one, whose
 * standing read goes through `standingOn` (the pool) as the one statement it may send.
 */
function syncReads(q: Query, memory: Memory, standingOn: Query = q): SyncReads {
  const { cache, events: eventCache, window } = memory;
  const rooms = roomReadsOn(q, cache, eventCache);
  /** The state group after the room's last event at or below the position; null before the room began. */
  const groupAt = async (roomId: string, position: number): Promise<number | null> => {
    const held = window?.stateGroupAt(roomId, position);
    if (held !== undefined) return held;
    const [row] = await q<{ state_after: number }[]>`
      select state_after from events
      where room_id = ${roomId} and stream_position <= ${position} and stream_position is not null and not soft_failed
      order by stream_position desc limit 1`;
    // No event of the room between its floor and the position: this is the state at the floor, kept.
    if (window?.atFloor(roomId, position)) window.setFloorState(roomId, row?.state_after ?? null);
    return row?.state_after ?? null;
  };
  /** The row's event, parsed once per process: the cache keeps what was parsed before. */
  const eventOf = (row: EventRow): StoredEvent => {
    const cached = eventCache.get(row.event_id);
    if (cached !== undefined) return cached;
    const event = storedEventFromRow(row);
    eventCache.set(event);
    return event;
  };
  return {
    events: rooms.events,
    stateBefore: (eventId) => {
      const group = window?.stateBeforeGroup(eventId);
      return group === undefined ? rooms.stateBefore(eventId) : loadGroupState(q, cache, group);
    },
    stateAfter: rooms.stateAfter,
    currentState: rooms.currentState,
    room: rooms.room,
    statesAround: rooms.statesAround,
    membershipHistory: rooms.membershipHistory,
    forgottenRooms: rooms.forgottenRooms,
    replacedStates: rooms.replacedStates,
    // Events the window knows no redaction or relation names need neither read.
    redactionsOf: (eventIds) => (window !== undefined && eventIds.every((id) => window.unreferenced(id)) ? Promise.resolve(new Map()) : rooms.redactionsOf(eventIds)),
    childrenOf: (parentIds, relTypes) => (window !== undefined && parentIds.every((id) => window.unreferenced(id)) ? Promise.resolve([]) : rooms.childrenOf(parentIds, relTypes)),

    async positions() {
      const [row] = await q<PositionRow[]>`select ${positionColumns(q)}`;
      if (row === undefined) throw new Error('the positions read returned no row');
      // The snapshot sees every event up to its maximum: the window catches up to it here.
      await window?.catchUp(q, row.events, true);
      return snapshotPositions(row);
    },

    async standing(userId: string, deviceId: string, accountDataTypes: readonly string[], accountDataAfter = 0): Promise<Standing> {
      // In a transaction the read is its own; on the pool it joins the other syncs' woken at the same time.
      const request: StandingRequest = { userId, deviceId, accountDataAfter };
      const row = standingOn === q
        ? (await standingReads(q, [request], accountDataTypes))[0]
        : await memory.standing.read(request, accountDataTypes);
      if (row === undefined) throw new Error('the standing read returned no row');
      // The window catches up to the snapshot's maximum, as in positions(). Without a transaction that read
      // is a statement of its own, which is sound: it reads nothing above the position, all committed.
      await window?.catchUp(standingOn, row.events, standingOn === q);
      // A batch asks for the types of all its syncs: each takes its own.
      const contents = new Map<string, Readonly<Record<string, unknown>>>();
      for (const [type, content] of Object.entries(row.account_data_contents)) {
        if (accountDataTypes.includes(type)) contents.set(type, JSON.parse(content) as Record<string, unknown>);
      }
      let accountDataAt = 0;
      for (const [type, position] of Object.entries(row.account_data_positions)) {
        if (accountDataTypes.includes(type)) accountDataAt = Math.max(accountDataAt, Number(position));
      }
      return {
        positions: snapshotPositions(row),
        memberships: row.memberships.map(membershipRow),
        forgotten: row.forgotten,
        accountData: contents,
        accountDataAt,
        keyCounts: keyCountsFrom(row.key_counts),
        peeks: row.peeked_rooms.map((peek) => ({ roomId: peek.room_id, position: Number(peek.stream_position) })),
      };
    },

    async currentMemberships(userId: string): Promise<MembershipRow[]> {
      const rows = await q<MemberRow[]>`
        select c.room_id, c.event_id, e.stream_position, (e.json::jsonb -> 'content' ->> 'membership') as membership
        from current_state c join events e on e.event_id = c.event_id
        where c.type = 'm.room.member' and c.state_key = ${userId}
        order by c.room_id`;
      return rows.map(membershipRow);
    },

    async membershipChanges(userId: string, after: number, upTo: number): Promise<MembershipRow[]> {
      if (upTo <= after) return [];
      const held = window?.membershipChanges(userId, after, upTo);
      if (held !== undefined) return held;
      const rows = await q<MemberRow[]>`
        select room_id, event_id, stream_position, (json::jsonb -> 'content' ->> 'membership') as membership
        from events
        where type = 'm.room.member' and state_key = ${userId} and not soft_failed
          and stream_position > ${after} and stream_position <= ${upTo}
        order by stream_position`;
      return rows.map(membershipRow);
    },

    async latestEventsIn(roomIds: readonly string[], upTo: number, limit: number, except: string): Promise<StoredEvent[]> {
      if (roomIds.length === 0 || limit <= 0) return [];
      const rows = await q<EventRow[]>`
        select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
          e.soft_failed, e.stream_position, r.room_version
        from events e join rooms r on r.room_id = e.room_id
        where e.room_id = any(${q.array([...roomIds])}::text[]) and e.stream_position <= ${upTo}
          and not e.soft_failed and e.sender <> ${except}
        order by e.stream_position desc
        limit ${limit}`;
      return rows.map(eventOf);
    },

    async timeline(roomId: string, after: number, upTo: number, limit: number): Promise<TimelinePage> {
      const held = window?.timeline(roomId, after, upTo, limit);
      if (held !== undefined) return held;
      if (upTo <= after || limit <= 0) {
        const [older] = upTo <= after ? [] : await q`
          select 1 from events where room_id = ${roomId} and stream_position > ${after} and stream_position <= ${upTo}
            and not soft_failed limit 1`;
        return { events: [], more: older !== undefined };
      }
      const rows = await q<EventRow[]>`
        select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
          e.soft_failed, e.stream_position, r.room_version
        from events e join rooms r on r.room_id = e.room_id
        where e.room_id = ${roomId} and e.stream_position > ${after} and e.stream_position <= ${upTo}
          and not e.soft_failed
        order by e.stream_position desc
        limit ${limit + 1}`;
      const more = rows.length > limit;
      return { events: rows.slice(0, limit).reverse().map(eventOf), more };
    },

    async stateAtPosition(roomId: string, position: number): Promise<StateMap> {
      const group = await groupAt(roomId, position);
      return group === null ? new Map() : loadGroupState(q, cache, group);
    },

    async joinedMembers(roomId: string, position: number): Promise<readonly string[]> {
      const group = await groupAt(roomId, position);
      if (group === null) return [];
      const known = memory.joined.get(group);
      if (known !== undefined) return known;
      const memberIds: string[] = [];
      for (const [key, eventId] of await loadGroupState(q, cache, group)) if (key.startsWith(MEMBER_KEY_PREFIX)) memberIds.push(eventId);
      const joined = [...(await rooms.events(memberIds)).values()]
        .filter(({ event }) => event.content.membership === 'join' && event.stateKey !== undefined)
        .map(({ event }) => event.stateKey as string);
      memory.joined.set(group, joined);
      return joined;
    },

    accountDataSince: (userId: string, since: number) => accountDataSince(q, userId, since),

    async readUpTo(userId: string, roomIds: readonly string[]): Promise<Map<string, ReadMarks>> {
      if (roomIds.length === 0) return new Map();
      const rows = await q<{ room_id: string; thread_id: string; position: number }[]>`
        select room_id, thread_id, max(event_position) as position from receipts
        where user_id = ${userId} and room_id = any(${q.array([...roomIds])}::text[])
          and receipt_type in ('m.read', 'm.read.private') and event_position is not null
        group by room_id, thread_id`;
      const marks = new Map<string, { room: number; main: number; threads: Map<string, number> }>();
      for (const row of rows) {
        let room = marks.get(row.room_id);
        if (room === undefined) marks.set(row.room_id, (room = { room: 0, main: 0, threads: new Map() }));
        if (row.thread_id === '') room.room = row.position;
        else if (row.thread_id === 'main') room.main = row.position;
        else room.threads.set(row.thread_id, row.position);
      }
      return marks;
    },

    async ownReceiptRooms(userId: string, since: number): Promise<string[]> {
      const rows = await q<{ room_id: string }[]>`
        select distinct room_id from receipts where user_id = ${userId} and stream_position > ${since}`;
      return rows.map((row) => row.room_id);
    },

    async deviceListChanges(viewer: string, after: number, upTo: number) {
      if (upTo <= after) return [];
      const rows = await q<{ user_id: string; only_for_viewer: boolean }[]>`
        select user_id, bool_and(only_for is not null) as only_for_viewer from device_list_changes
        where position > ${after} and position <= ${upTo} and (only_for is null or only_for = ${viewer})
        group by user_id order by user_id`;
      return rows.map((row) => ({ userId: row.user_id, onlyForViewer: row.only_for_viewer }));
    },

    async sharingRoomWith(userId: string, others: readonly string[]): Promise<Set<string>> {
      if (others.length === 0) return new Set();
      const rows = await q<{ user_id: string }[]>`
        select distinct theirs.state_key as user_id
        from current_state mine
        join events my_event on my_event.event_id = mine.event_id
        join current_state theirs on theirs.room_id = mine.room_id and theirs.type = 'm.room.member'
        join events their_event on their_event.event_id = theirs.event_id
        where mine.type = 'm.room.member' and mine.state_key = ${userId}
          and (my_event.json::jsonb -> 'content' ->> 'membership') = 'join'
          and theirs.state_key = any(${q.array([...others])}::text[])
          and (their_event.json::jsonb -> 'content' ->> 'membership') = 'join'`;
      return new Set(rows.map((row) => row.user_id));
    },

    async memberChangesIn(roomIds: readonly string[], after: number, upTo: number) {
      if (roomIds.length === 0 || upTo <= after) return [];
      const held = window?.memberChangesIn(roomIds, after, upTo);
      if (held !== undefined) return held;
      const rows = await q<{ room_id: string; state_key: string; membership: string | null }[]>`
        select room_id, state_key, (json::jsonb -> 'content' ->> 'membership') as membership from events
        where room_id = any(${q.array([...roomIds])}::text[]) and type = 'm.room.member'
          and stream_position > ${after} and stream_position <= ${upTo} and not soft_failed
        order by stream_position`;
      return rows.map((row) => ({ roomId: row.room_id, userId: row.state_key, membership: row.membership ?? 'leave' }));
    },

    async transactionIds(userId: string, deviceId: string, eventIds: readonly string[]): Promise<Map<string, string>> {
      if (eventIds.length === 0) return new Map();
      // The sender's events are the ones asked about: the window knows their transactions.
      const held = window?.transactionIds(userId, deviceId, eventIds);
      if (held !== undefined) return held;
      const rows = await q<{ event_id: string; txn_id: string }[]>`
        select event_id, txn_id from event_transactions
        where user_id = ${userId} and device_id = ${deviceId} and event_id = any(${q.array([...eventIds])}::text[])`;
      return new Map(rows.map((row) => [row.event_id, row.txn_id]));
    },
  };
}
