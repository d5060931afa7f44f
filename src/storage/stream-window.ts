import type { StoredEvent, TimelineEvent } from '../rooms/index.js';
import type { MembershipRow, TimelinePage } from '../sync/index.js';
import { storedEventFromRow, type EventRow } from './event-rows.js';
import type { EventCache } from './event-cache.js';
import type { Query } from './state-groups.js';

/**
 * The newest stretch of the events stream, kept in memory so that a woken /sync (a few new events in rooms
 * the client already has) needs no timeline, membership or state-position statement of its own.
 *
 * The window fills itself from the database, not from notices: a snapshot that reads the stream at position
 * p first brings the window up to p with one statement (`reach`), which the syncs one event wakes share.
 * Events commit in position order (persist-events.ts), so once the window holds every event up to p it
 * never misses one below p; this holds for events written by any process. Backfilled events carry negative
 * positions and soft-failed ones are never served: neither enters. The one shortcut: the events this
 * process builds are handed over as they commit (`append`) and enter as soon as every position before
 * them is held, so the window reaches them without a statement. Commits on different connections are
 * heard in any order; one heard early waits in `#pending` for those before it.
 *
 * What the window holds of a room: every event with a position above the room's `floor` (the window's start
 * for a room it has not trimmed). A question reaching below a floor is not answered here (undefined): the
 * caller asks the database. The same goes for the member events of each user (membership changes) above
 * `memberFloor`.
 *
 * Each event also carries whether a redaction or a child relation names it: loaded from the database when
 * the event enters, then set by every later event that names it. An event known to be named by none is
 * served without the redaction and relation reads (`unreferenced`). Marks only ever get set, so a sync whose
 * snapshot is older than the mark merely asks the database.
 */

/** How much the window holds; the defaults suit a process serving a few thousand active rooms. */
export interface StreamWindowLimits {
  /** Events a room keeps; older ones go and raise the room's floor. */
  readonly roomEvents: number;
  /** Events the whole window keeps; beyond it the least recently active rooms are emptied. */
  readonly totalEvents: number;
  /** Rooms the window tracks; beyond it the window starts afresh. */
  readonly rooms: number;
  /** Member events kept for membership changes; beyond it they are dropped and their floor raised. */
  readonly memberEvents: number;
  /** Events one catch-up reads at most; a longer gap starts the window afresh where the caller stands. */
  readonly catchUp: number;
  /** The newest events kept in stream order, whatever their room, for readers following the whole stream. */
  readonly tail: number;
}

export const DEFAULT_STREAM_WINDOW_LIMITS: StreamWindowLimits = {
  roomEvents: 100,
  totalEvents: 50_000,
  rooms: 100_000,
  memberEvents: 20_000,
  catchUp: 5_000,
  tail: 1_000,
};

interface WindowEvent {
  readonly position: number;
  readonly stored: StoredEvent;
  /** The state groups before and after the event. */
  readonly stateBefore: number;
  readonly stateAfter: number;
  /** A redaction or a child relation names the event (at or after it entered the window). */
  referenced: boolean;
  /**
   * The sender's devices and the transaction ids it was sent with (more than one when a repeated state
   * request of the same content was answered with it); empty for an event sent without one.
   */
  readonly transactions: readonly WindowTransaction[];
}

interface RoomWindow {
  /** Every event of the room with a position above this is held. */
  floor: number;
  events: WindowEvent[];
  /** The state group at the floor (after the last event at or below it), once read; null before the room began. */
  floorState?: number | null;
}

interface MemberChange {
  readonly position: number;
  readonly roomId: string;
  readonly eventId: string;
  readonly membership: string;
}

interface WindowRow extends EventRow {
  readonly state_before: number;
  readonly state_after: number;
  readonly referenced: boolean;
  readonly transactions: WindowTransaction[] | null;
}

export interface WindowTransaction {
  readonly deviceId: string;
  readonly txnId: string;
}

/** An event this process has just committed, fresh (built here): what the window keeps of it. */
export interface CommittedEvent {
  readonly position: number;
  readonly stored: StoredEvent;
  readonly stateBefore: number;
  readonly stateAfter: number;
  readonly transactions: readonly WindowTransaction[];
}

export class StreamWindow {
  /** Every event with a position up to here (above its room's floor) is held; undefined before the first use. */
  #reach: number | undefined;
  /** The floor of rooms the window has no entry for. */
  #start = 0;
  readonly #rooms = new Map<string, RoomWindow>();
  readonly #byId = new Map<string, WindowEvent>();
  #total = 0;
  readonly #members = new Map<string, MemberChange[]>();
  #memberFloor = 0;
  #memberTotal = 0;
  /** The newest events of every room in stream order: all those above `#tailFloor` (up to reach). */
  #tail: WindowEvent[] = [];
  #tailFloor = 0;
  /** Committed events heard before an event ahead of them, by position; they enter once the gap is held. */
  readonly #pending = new Map<number, CommittedEvent>();
  /** The catch-up under way, and the position it brings the window to. */
  #loading: { readonly upTo: number; readonly done: Promise<void> } | undefined;

  constructor(
    private readonly eventCache: EventCache,
    private readonly limits: StreamWindowLimits = DEFAULT_STREAM_WINDOW_LIMITS,
  ) {}

  /** The position the window holds every event up to (-1 before its first use). */
  get reach(): number {
    return this.#reach ?? -1;
  }

  /**
   * Brings the window up to `position`, reading what it lacks through `q` (which must see every event up
   * to `position`: a snapshot that read it as the stream's maximum).
   *
   * `holdsConnection`: the caller reads through a connection of its own (a transaction). Such a caller never
   * waits for another's read, which may be queued for a pool connection that callers like it all hold:
   * it reads for itself (a read that finds the window moved on meanwhile is dropped). Callers that hold
   * none (a statement on the pool) wait for a read under way and share it: the syncs one event wakes.
   */
  async catchUp(q: Query, position: number, holdsConnection: boolean): Promise<void> {
    if (this.#reach === undefined) {
      // Nothing is known before the first snapshot: the window begins there.
      this.#reach = position;
      this.#start = position;
      this.#memberFloor = position;
      this.#tailFloor = position;
      return;
    }
    while (this.#reach < position) {
      const loading = this.#loading;
      if (loading !== undefined && !holdsConnection) {
        // A failed read is someone else's error: this caller then reads for itself.
        await loading.done.catch(() => undefined);
        continue;
      }
      const done = this.#load(q, this.#reach, position);
      if (loading === undefined) this.#loading = { upTo: position, done };
      try {
        await done;
      } finally {
        if (this.#loading?.done === done) this.#loading = undefined;
      }
    }
    this.#enterPending();
  }

  async #load(q: Query, after: number, upTo: number): Promise<void> {
    const rows = await q<WindowRow[]>`
      select e.event_id, e.room_id, e.type, e.state_key, e.sender, e.redacts, e.json, e.outlier, e.rejected_reason,
        e.soft_failed, e.stream_position, r.room_version, e.state_before, e.state_after,
        (exists (select 1 from events x where x.redacts = e.event_id and x.type = 'm.room.redaction'
            and x.stream_position is not null and not x.soft_failed)
          or exists (select 1 from events x
            where (x.json::jsonb -> 'content' -> 'm.relates_to' ->> 'event_id') = e.event_id
              and x.stream_position is not null and not x.soft_failed)) as referenced,
        (select json_agg(json_build_object('deviceId', t.device_id, 'txnId', t.txn_id)) from event_transactions t
          where t.event_id = e.event_id and t.user_id = e.sender) as transactions
      from events e join rooms r on r.room_id = e.room_id
      where e.stream_position > ${after} and e.stream_position <= ${upTo} and not e.soft_failed
      order by e.stream_position
      limit ${this.limits.catchUp + 1}`;
    // Another caller may have moved the window meanwhile (a reset): rows below its reach are no news.
    if (this.#reach !== after) return;
    if (rows.length > this.limits.catchUp) {
      this.#restart(upTo);
      return;
    }
    for (const row of rows) {
      const cached = this.eventCache.get(row.event_id);
      const stored = cached ?? storedEventFromRow(row);
      if (cached === undefined) this.eventCache.set(stored);
      this.#add({
        position: row.stream_position ?? 0,
        stored,
        stateBefore: row.state_before,
        stateAfter: row.state_after,
        referenced: row.referenced,
        transactions: row.transactions ?? [],
      });
    }
    this.#reach = upTo;
    this.#trim();
  }

  /**
   * Takes in events this process has just committed. Each enters once it directly follows what the window
   * holds (reach + 1), in position order, so no snapshot has to read it back; until then it waits for the
   * events before it, which commits on other connections hand over in their own time. Nothing can name a
   * fresh event before it commits, so it enters unreferenced. A gap that no commit here fills (another
   * writer's event, a position drawn by a transaction that rolled back) is left to the next catch-up,
   * which reads the database and drops what waited below its reach.
   */
  append(events: readonly CommittedEvent[]): void {
    if (this.#reach === undefined) return;
    for (const committed of events) {
      if (committed.position > this.#reach) this.#pending.set(committed.position, committed);
    }
    // A plain bound: what waits behind a gap is only a shortcut.
    if (this.#pending.size > this.limits.catchUp) this.#pending.clear();
    this.#enterPending();
  }

  /** Adds the waiting events that follow the reach; drops those a catch-up has read meanwhile. */
  #enterPending(): void {
    if (this.#reach === undefined || this.#loading !== undefined || this.#pending.size === 0) return;
    let added = false;
    for (let next = this.#pending.get(this.#reach + 1); next !== undefined; next = this.#pending.get(this.#reach + 1)) {
      this.#pending.delete(next.position);
      this.eventCache.set(next.stored);
      // Object.assign, not a spread followed by a new key (slow in V8): once per event committed.
      this.#add(Object.assign({}, next, { referenced: false }));
      this.#reach = next.position;
      added = true;
    }
    for (const position of this.#pending.keys()) if (position <= this.#reach) this.#pending.delete(position);
    if (added) this.#trim();
  }

  #add(entry: WindowEvent): void {
    const { stored } = entry;
    const { event } = stored;
    let room = this.#rooms.get(event.roomId);
    if (room === undefined) {
      room = { floor: this.#start, events: [] };
    } else {
      // Re-inserted: the map's order is the rooms' order of last activity.
      this.#rooms.delete(event.roomId);
    }
    this.#rooms.set(event.roomId, room);
    room.events.push(entry);
    this.#tail.push(entry);
    this.#byId.set(event.eventId, entry);
    this.#total++;
    if (room.events.length > this.limits.roomEvents) this.#drop(room, room.events.length - this.limits.roomEvents);
    const { position } = entry;
    for (const target of [event.redacts, relatedId(event.content)]) {
      const named = target === undefined ? undefined : this.#byId.get(target);
      if (named !== undefined) named.referenced = true;
    }
    if (event.type === 'm.room.member' && event.stateKey !== undefined) {
      const membership = event.content.membership;
      const list = this.#members.get(event.stateKey) ?? [];
      list.push({ position, roomId: event.roomId, eventId: event.eventId, membership: typeof membership === 'string' ? membership : 'leave' });
      this.#members.set(event.stateKey, list);
      this.#memberTotal++;
    }
  }

  #trim(): void {
    // Halved at a time, so that the splice is paid once per half a tail.
    if (this.#tail.length > this.limits.tail) {
      const dropped = this.#tail.splice(0, this.#tail.length - Math.ceil(this.limits.tail / 2));
      this.#tailFloor = dropped.at(-1)!.position;
    }
    if (this.#rooms.size > this.limits.rooms) {
      this.#restart(this.reach);
      return;
    }
    // The least recently active rooms first (the map's order); an emptied room goes to the end.
    for (const [roomId, room] of this.#rooms) {
      if (this.#total <= this.limits.totalEvents) break;
      if (room.events.length === 0) continue;
      this.#drop(room, room.events.length);
      this.#rooms.delete(roomId);
      this.#rooms.set(roomId, room);
    }
    if (this.#memberTotal > this.limits.memberEvents) {
      this.#members.clear();
      this.#memberTotal = 0;
      this.#memberFloor = this.reach;
    }
  }

  /** Drops the room's oldest `count` events, raising its floor to the newest dropped. */
  #drop(room: RoomWindow, count: number): void {
    if (count <= 0) return;
    const dropped = room.events.splice(0, count);
    for (const entry of dropped) this.#byId.delete(entry.stored.event.eventId);
    this.#total -= dropped.length;
    const last = dropped.at(-1)!;
    room.floor = last.position;
    room.floorState = last.stateAfter;
  }

  /** Forgets everything and holds every event from `position` on. */
  #restart(position: number): void {
    this.#rooms.clear();
    this.#pending.clear();
    this.#byId.clear();
    this.#members.clear();
    this.#tail = [];
    this.#tailFloor = position;
    this.#total = 0;
    this.#memberTotal = 0;
    this.#start = position;
    this.#memberFloor = position;
    this.#reach = position;
  }

  #room(roomId: string): RoomWindow {
    return this.#rooms.get(roomId) ?? { floor: this.#start, events: [] };
  }

  /** The held events of the room in (after, upTo], oldest first. */
  #range(room: RoomWindow, after: number, upTo: number): WindowEvent[] {
    return room.events.filter((entry) => entry.position > after && entry.position <= upTo);
  }

  /**
   * The events of every room after a position, in stream order, at most `limit` (for a reader following
   * the whole stream: the federation sender), if the window holds them all and reaches `upTo`, a position
   * the stream is known to have reached; else undefined (the caller reads the database).
   */
  eventsAfter(after: number, upTo: number, limit: number): TimelineEvent[] | undefined {
    if (this.#reach === undefined || upTo > this.#reach || after < this.#tailFloor) return undefined;
    const found: TimelineEvent[] = [];
    // From the end: a follower is seldom far behind.
    let i = this.#tail.length;
    while (i > 0 && this.#tail[i - 1]!.position > after) i--;
    for (; i < this.#tail.length && found.length < limit; i++) {
      const entry = this.#tail[i]!;
      found.push(entry.stored.streamPosition === entry.position ? (entry.stored as TimelineEvent) : { ...entry.stored, streamPosition: entry.position });
    }
    return found;
  }

  /** The sync store's timeline read, when the window holds the answer. */
  timeline(roomId: string, after: number, upTo: number, limit: number): TimelinePage | undefined {
    if (upTo > this.reach) return undefined;
    if (upTo <= after) return { events: [], more: false };
    const room = this.#room(roomId);
    const held = this.#range(room, after, upTo);
    const wanted = Math.max(limit, 0);
    // Below the floor there may be more: the answer is whole only if the page fills from what is held.
    if (after < room.floor && held.length <= wanted) return undefined;
    return { events: held.slice(Math.max(0, held.length - wanted)).map((entry) => entry.stored), more: held.length > wanted || after < room.floor };
  }

  /**
   * The state group after the room's last event at or below the position: null before the room began,
   * undefined when only the database knows (the position lies below the floor, or the floor's state is
   * not read yet: `setFloorState`).
   */
  stateGroupAt(roomId: string, position: number): number | null | undefined {
    if (position > this.reach) return undefined;
    const room = this.#rooms.get(roomId);
    const floor = room?.floor ?? this.#start;
    if (position < floor) return undefined;
    const last = room === undefined ? undefined : this.#range(room, floor, position).at(-1);
    if (last !== undefined) return last.stateAfter;
    return room?.floorState;
  }

  /** Whether a position's state for the room would be the state at the room's floor (so worth keeping). */
  atFloor(roomId: string, position: number): boolean {
    const room = this.#rooms.get(roomId);
    const floor = room?.floor ?? this.#start;
    return position >= floor && position <= this.reach && (room === undefined || this.#range(room, floor, position).length === 0);
  }

  /** Keeps the state group at the room's floor, read from the database. */
  setFloorState(roomId: string, group: number | null): void {
    let room = this.#rooms.get(roomId);
    if (room === undefined) {
      if (this.#rooms.size >= this.limits.rooms) return;
      room = { floor: this.#start, events: [] };
      // A quiet room goes first when the window must shrink.
      this.#rooms.set(roomId, room);
    }
    room.floorState = group;
  }

  /** The user's member events in (after, upTo], in stream order; undefined when the window cannot tell. */
  membershipChanges(userId: string, after: number, upTo: number): MembershipRow[] | undefined {
    if (upTo > this.reach || after < this.#memberFloor) return undefined;
    return (this.#members.get(userId) ?? [])
      .filter((change) => change.position > after && change.position <= upTo)
      .map((change) => ({ roomId: change.roomId, eventId: change.eventId, membership: change.membership, position: change.position }));
  }

  /** The member events of the rooms in (after, upTo], in stream order; undefined when the window cannot tell. */
  memberChangesIn(roomIds: readonly string[], after: number, upTo: number): Array<{ roomId: string; userId: string; membership: string }> | undefined {
    if (upTo > this.reach) return undefined;
    const found: WindowEvent[] = [];
    for (const roomId of roomIds) {
      const room = this.#room(roomId);
      if (after < room.floor) return undefined;
      for (const entry of this.#range(room, after, upTo)) if (entry.stored.event.type === 'm.room.member') found.push(entry);
    }
    return found
      .sort((a, b) => a.position - b.position)
      .filter(({ stored }) => stored.event.stateKey !== undefined)
      .map(({ stored: { event } }) => ({
        roomId: event.roomId,
        userId: event.stateKey!,
        membership: typeof event.content.membership === 'string' ? event.content.membership : 'leave',
      }));
  }

  /** The state group before a held event; undefined for one the window does not hold. */
  stateBeforeGroup(eventId: string): number | undefined {
    return this.#byId.get(eventId)?.stateBefore;
  }

  /**
   * The transaction ids the device sent these events with, if the window holds them all (a message it
   * holds without one was sent without one); undefined when it lacks one of them, or when a state event
   * has none for the device (one may have been recorded since).
   */
  transactionIds(userId: string, deviceId: string, eventIds: readonly string[]): Map<string, string> | undefined {
    const found = new Map<string, string>();
    for (const eventId of eventIds) {
      const entry = this.#byId.get(eventId);
      if (entry === undefined) return undefined;
      if (entry.stored.event.sender !== userId) continue;
      const transaction = entry.transactions.find((t) => t.deviceId === deviceId);
      if (transaction !== undefined) found.set(eventId, transaction.txnId);
      // A state request repeating the current content is answered with the existing event, and its
      // transaction recorded then, after the event entered the window: only the database knows those.
      else if (entry.stored.event.stateKey !== undefined) return undefined;
    }
    return found;
  }

  /** Whether the window knows that no redaction or child relation names the event. */
  unreferenced(eventId: string): boolean {
    const entry = this.#byId.get(eventId);
    return entry !== undefined && !entry.referenced;
  }
}

/** The parent a relation names (content."m.relates_to".event_id), as the relations index reads it. */
function relatedId(content: Readonly<Record<string, unknown>>): string | undefined {
  const relation = content['m.relates_to'];
  if (typeof relation !== 'object' || relation === null) return undefined;
  const id = (relation as Record<string, unknown>).event_id;
  return typeof id === 'string' ? id : undefined;
}
