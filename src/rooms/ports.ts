import type { RoomEvent, StateKey, StateMap } from '../events/index.js';

/**
 * The storage the room server needs. src/storage implements it on PostgreSQL (both engines); the room
 * server never sees SQL. Reads outside a transaction may run anywhere; writes run inside
 * `withRoomWriteLock`, which serialises writers per room across processes.
 */

/** How an event was accepted: rejected events are stored (so they are not fetched again) but never served. */
export interface EventStatus {
  /** Stored without known state before it (fetched for auth chains or state): not part of the timeline. */
  readonly outlier: boolean;
  /** Why it failed auth, or null. */
  readonly rejectedReason: string | null;
  /** Passed auth against the state before it but not against the current state: kept, not served. */
  readonly softFailed: boolean;
}

export interface StoredEvent extends EventStatus {
  readonly event: RoomEvent;
  readonly roomVersion: string;
  /** Position on the events stream; null for outliers and rejected events. */
  readonly streamPosition: number | null;
}

export interface RoomRecord {
  readonly roomId: string;
  readonly roomVersion: string;
  readonly creator: string;
}

/** An event to persist with what the room server decided about it. */
export interface NewEvent extends EventStatus {
  readonly event: RoomEvent;
  /**
   * The state before the event (event ids), for non-outliers. The store keeps it as a state group with a
   * delta against a parent group, so it should be given as a delta when the caller knows one.
   */
  readonly stateBefore: StateInput | null;
  /**
   * A backfilled event's place, below every event this server saw arrive (a negative position from
   * `backfillPositions`); the events stream is not advanced, so sync never sees it. An event stored as an
   * outlier before is moved onto the timeline there.
   */
  readonly backfillPosition?: number;
}

/** State given either whole or as a change against the state before/after a known event. */
export type StateInput =
  | { readonly kind: 'full'; readonly state: StateMap }
  | { readonly kind: 'after-event'; readonly eventId: string; readonly changes: StateMap }
  | { readonly kind: 'before-event'; readonly eventId: string; readonly changes: StateMap };

/** Reads, available both outside and inside a write transaction. */
export interface RoomReads {
  room(roomId: string): Promise<RoomRecord | undefined>;
  /** Events by id; missing ids are absent from the map. */
  events(eventIds: readonly string[]): Promise<Map<string, StoredEvent>>;
  forwardExtremities(roomId: string): Promise<string[]>;
  /** The room's current state (event ids). */
  currentState(roomId: string): Promise<StateMap>;
  /** Selected entries of the current state, for the event builder and auth (cheap for big rooms). */
  currentStateEntries(roomId: string, keys: readonly StateKey[]): Promise<StateMap>;
  /** The state before / after a persisted non-outlier event; undefined if the event has no stored state. */
  stateBefore(eventId: string): Promise<StateMap | undefined>;
  stateAfter(eventId: string): Promise<StateMap | undefined>;
  /** The highest position on the events stream. */
  eventsStreamPosition(): Promise<number>;
  /** The rooms whose current state gives the user this membership ('join', 'invite' ...), sorted. */
  roomsWithMembership(userId: string, membership: string): Promise<string[]>;
  /** Whether a user of the server is joined to the room in its current state: the room is that server's too. */
  hasJoinedMember(roomId: string, serverName: string): Promise<boolean>;

  // What clients read of a room's history (src/storage/room-timeline.ts).

  /** Served events of the room (never outliers, rejected or soft-failed) in a range of stream positions. */
  timelineEvents(roomId: string, range: TimelineRange): Promise<TimelineEvent[]>;
  /**
   * Selected entries of the state before and after each event, with its position; events with no stored
   * state (outliers, unknown ids) are absent. One state load per distinct state group, however many events.
   */
  statesAround(eventIds: readonly string[], keys: readonly StateKey[]): Promise<Map<string, EventStates>>;
  /** The user's member events in the room that are on the timeline (not soft-failed), oldest first. */
  membershipHistory(roomId: string, userId: string): Promise<MembershipChange[]>;
  /**
   * The m.room.redaction events naming each event (on the timeline, not soft-failed), oldest first; events no
   * redaction names are absent. Whether one applies is the reader's call (src/rooms/redactions.ts).
   */
  redactionsOf(eventIds: readonly string[]): Promise<Map<string, StoredEvent[]>>;
  /**
   * For each state event given that replaced one (the event at its type and state key in the state before
   * it), that event's id; events that replaced nothing, and message events, are absent.
   */
  replacedStates(eventIds: readonly string[]): Promise<Map<string, string>>;
  /** The rooms the user forgot and has had no new member event in since, sorted. */
  forgottenRooms(userId: string): Promise<string[]>;
  /** The room's served event nearest a time: the first at or after `ts` ('f'), the last at or before it ('b'). */
  eventNearTime(roomId: string, ts: number, dir: 'f' | 'b'): Promise<TimelineEvent | undefined>;
  /**
   * Where the room's history on this server begins, as far as it is known to go on: the prev events of its
   * oldest timeline events that are not on the timeline themselves (never fetched, or stored as outliers),
   * not rejected; at most `limit`, sorted. Empty once the timeline reaches the create event.
   */
  backwardExtremities(roomId: string, limit: number): Promise<string[]>;

  // Relations between events (src/storage/relations.ts): a child names its parent in content.m.relates_to.

  /**
   * The served events (never outliers, rejected or soft-failed) naming one of the parents in
   * content.m.relates_to.event_id, with one of `relTypes` when given, oldest first. Whether the child is in
   * the parent's room, visible or redacted is the reader's call (src/rooms/aggregations.ts).
   */
  childrenOf(parentIds: readonly string[], relTypes?: readonly string[]): Promise<TimelineEvent[]>;
  /**
   * A stretch of one parent's relations in the room (direct children, and with `depth` > 1 their children
   * too, up to that many levels), in the terms of TimelineRange, only of `relType` / `eventType` when given.
   */
  relationsOf(roomId: string, parentId: string, range: RelationsRange): Promise<TimelineEvent[]>;
  /**
   * The room's thread roots (events named by an m.thread child), by the position of their latest m.thread
   * child, newest first, only those whose latest child is at or below `from`; with `participant`, only threads
   * that user started or replied in. The root itself is not checked here.
   */
  threadRoots(roomId: string, query: ThreadRootsQuery): Promise<ThreadRoot[]>;
}

export interface RelationsRange extends TimelineRange {
  readonly relType?: string;
  readonly eventType?: string;
  /** Levels of relations followed: 1 for direct children only. */
  readonly depth: number;
}

export interface ThreadRootsQuery {
  readonly from: number;
  readonly limit: number;
  readonly participant?: string;
}

export interface ThreadRoot {
  readonly rootId: string;
  /** The stream position of the thread's latest m.thread child. */
  readonly latestPosition: number;
}

/** A served event with its place on the events stream. */
export interface TimelineEvent extends StoredEvent {
  readonly streamPosition: number;
}

/**
 * A stretch of a room's timeline, in the terms of pagination tokens (src/protocol/stream-token.ts): 'b'
 * gives positions at or below `from`, newest first, stopping above `to`; 'f' gives positions above `from`,
 * oldest first, up to and including `to`. At most `limit` events.
 */
export interface TimelineRange {
  readonly dir: 'b' | 'f';
  readonly from: number;
  readonly to?: number;
  readonly limit: number;
}

/** An event's position (null for an outlier) and the asked state entries before and after it. */
export interface EventStates {
  readonly position: number | null;
  readonly before: StateMap;
  readonly after: StateMap;
}

export interface MembershipChange {
  readonly eventId: string;
  readonly membership: string;
  readonly position: number;
}

/** A client's transaction id for a send, scoped as the spec asks: one device, one room (the request path). */
export interface TransactionKey {
  readonly userId: string;
  readonly deviceId: string;
  readonly roomId: string;
  readonly txnId: string;
}

export interface PersistOptions {
  /**
   * Nothing follows in this transaction: it commits together with the events' own statements (one round trip),
   * so the events-stream lock they take is released without waiting for their answer to come back first.
   * The transaction's writes may not be used after.
   */
  readonly last?: boolean;
  /**
   * The events were built by this server just now, with ids never given before, in a room the transaction
   * has read: the store need not look for them (or the room) before writing.
   */
  readonly fresh?: boolean;
}

export interface RoomWrites extends RoomReads {
  createRoom(room: RoomRecord): Promise<void>;
  /**
   * Stores events in order, each with its state before it (the state after a state event is derived:
   * before + the event). Returns the stream positions given (null for outliers and rejected events).
   * Storing an event id that is already stored changes nothing and returns its existing position.
   */
  persistEvents(roomId: string, events: readonly NewEvent[], options?: PersistOptions): Promise<Array<number | null>>;
  setForwardExtremities(roomId: string, eventIds: readonly string[]): Promise<void>;
  /** Replaces the current state with the given map; only the changed entries are written. */
  setCurrentState(roomId: string, state: StateMap): Promise<void>;
  /** Sets some entries of the current state (a local state event), leaving the rest alone. */
  updateCurrentState(roomId: string, changes: StateMap): Promise<void>;
  /** The event a client transaction produced, if that transaction was seen before. */
  transactionEvent(key: TransactionKey): Promise<string | undefined>;
  /** Remembers the event a client transaction produced (in the same transaction as the event). */
  recordTransaction(key: TransactionKey, eventId: string): Promise<void>;
}

/**
 * Reads a write transaction sends together with its BEGIN and the room's lock: they run once the lock is
 * held, and their answers come back in the same round trip as the lock's. `fn` starts once the lock is
 * held, as always; its own reads of the same things get these answers, until it writes anything.
 */
export interface WritePrefetch {
  /** The room's forward extremities. */
  readonly extremities?: boolean;
  /** The room's current state under these keys (a read of any of them is answered). */
  readonly stateKeys?: readonly StateKey[];
  /** The event of this client transaction, if any. */
  readonly transaction?: TransactionKey;
}

export interface WriteLockOptions {
  readonly prefetch?: WritePrefetch;
}

export interface RoomStore extends RoomReads {
  /**
   * Runs `fn` in one transaction holding the room's write lock (a PostgreSQL advisory lock, so several
   * processes stay correct). Everything `fn` writes commits together or not at all.
   */
  withRoomWriteLock<T>(roomId: string, fn: (tx: RoomWrites) => Promise<T>, options?: WriteLockOptions): Promise<T>;
  /**
   * Forgets the room for the user for as long as `membershipEventId` stays their member event (a new join,
   * invite or knock brings the room back). Needs no lock: a membership that moves on just un-forgets.
   */
  forgetRoom(userId: string, roomId: string, membershipEventId: string): Promise<void>;
  /**
   * `count` positions for backfilled events, below every position given out before (backfilled or not),
   * in ascending order: the oldest event of a batch takes the first.
   */
  backfillPositions(count: number): Promise<number[]>;
}

/** Told after a write commits, so sync and federation wake up (server.ts wires it to the bus). */
export interface RoomNotifier {
  /**
   * `members`: the users whose m.room.member state the events set, so that a user not yet in the room (an
   * invitee, a new joiner) hears about it too.
   */
  eventsPersisted(roomId: string, streamPosition: number, members?: readonly string[]): void;
}

/** A remote server's signing key, as the keyring knows it. */
export interface VerifyKey {
  readonly key: Uint8Array;
  /** Until when the key may sign (v5+ rooms refuse events signed after it); Infinity if unbounded. */
  readonly validUntilTs: number;
}

/** The keyring, as the receive pipeline needs it: a server's key by id, fetched if need be. */
export interface KeyLookup {
  verifyKey(serverName: string, keyId: string): Promise<VerifyKey | undefined>;
}

/** A room alias of this server (src/storage/directory-store.ts keeps them). */
export interface AliasRecord {
  readonly alias: string;
  readonly roomId: string;
  /** Who made it: they may delete it without power in the room. */
  readonly creator: string;
}

export interface AliasStore {
  alias(alias: string): Promise<AliasRecord | undefined>;
  /** Stores the alias; false (and nothing written) when it is taken. */
  createAlias(record: AliasRecord, nowMs: number): Promise<boolean>;
  /** false when there was no such alias. */
  deleteAlias(alias: string): Promise<boolean>;
  /** The room's aliases on this server, sorted. */
  roomAliases(roomId: string): Promise<string[]>;
}

/** One published room as the directory lists it: its directory-relevant state contents and member count. */
export interface PublishedRoom {
  readonly roomId: string;
  readonly joinedMembers: number;
  /** Contents of the room's current state with an empty state key, by type (m.room.name, m.room.create ...). */
  readonly state: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
}

/** A room as the space hierarchy describes it: its version, joined count and the state a summary is made of. */
export interface RoomSummaryRow {
  readonly roomId: string;
  readonly roomVersion: string;
  readonly joinedMembers: number;
  /** Contents of the room's current state events with an empty state key, by type (of the types asked for). */
  readonly state: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
}

/** A current m.space.child event of a space. */
export interface SpaceChildRow {
  readonly roomId: string;
  /** The child room's id. */
  readonly stateKey: string;
  readonly sender: string;
  readonly originServerTs: number;
  readonly content: Readonly<Record<string, unknown>>;
}

/** What the space hierarchy (src/rooms/hierarchy.ts) reads. */
export interface HierarchyStore {
  /** Summaries of the rooms this server has state for; others are absent. */
  summaries(roomIds: readonly string[], types: readonly string[]): Promise<Map<string, RoomSummaryRow>>;
  /** The current m.space.child events of the rooms, by room. */
  spaceChildren(roomIds: readonly string[]): Promise<Map<string, SpaceChildRow[]>>;
  /** The user's current membership in each room that has one. */
  memberships(userId: string, roomIds: readonly string[]): Promise<Map<string, string>>;
  /** The rooms among `roomIds` where a user of `server` is joined or invited. */
  roomsWithServer(server: string, roomIds: readonly string[]): Promise<Set<string>>;
}

export interface RoomDirectoryStore {
  isPublished(roomId: string): Promise<boolean>;
  setPublished(roomId: string, published: boolean, nowMs: number): Promise<void>;
  /** Every published room with the state `types` (empty state key) and its joined member count. */
  publishedRooms(types: readonly string[]): Promise<PublishedRoom[]>;
}
