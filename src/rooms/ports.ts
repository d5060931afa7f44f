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
}

/** A client's transaction id for a send, scoped as the spec asks: one device, one room (the request path). */
export interface TransactionKey {
  readonly userId: string;
  readonly deviceId: string;
  readonly roomId: string;
  readonly txnId: string;
}

export interface RoomWrites extends RoomReads {
  createRoom(room: RoomRecord): Promise<void>;
  /**
   * Stores events in order, each with its state before it (the state after a state event is derived:
   * before + the event). Returns the stream positions given (null for outliers and rejected events).
   * Storing an event id that is already stored changes nothing and returns its existing position.
   */
  persistEvents(roomId: string, events: readonly NewEvent[]): Promise<Array<number | null>>;
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

export interface RoomStore extends RoomReads {
  /**
   * Runs `fn` in one transaction holding the room's write lock (a PostgreSQL advisory lock, so several
   * processes stay correct). Everything `fn` writes commits together or not at all.
   */
  withRoomWriteLock<T>(roomId: string, fn: (tx: RoomWrites) => Promise<T>): Promise<T>;
}

/** Told after a write commits, so sync and federation wake up (server.ts wires it to the bus). */
export interface RoomNotifier {
  eventsPersisted(roomId: string, streamPosition: number): void;
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
