import type { StateMap } from '../events/index.js';
import type { RoomReads, StoredEvent } from '../rooms/index.js';
import type { AccountDataChange } from '../users/index.js';
import type { PushJudge } from './notifications.js';

/**
 * The storage /sync reads. Every read of one /sync runs inside one read-only snapshot (a repeatable-read
 * transaction), so the rooms, their timelines and the stream positions in the returned token agree.
 */

/** One of the user's member events, as sync needs it. */
export interface MembershipRow {
  readonly roomId: string;
  readonly eventId: string;
  readonly membership: string;
  /** The member event's position on the events stream; null for an outlier (a remote invite). */
  readonly position: number | null;
}

/** A page of a room's timeline: events in stream order, never soft-failed, rejected or outliers. */
export interface TimelinePage {
  readonly events: readonly StoredEvent[];
  /** There are older events in the asked range than the page holds. */
  readonly more: boolean;
}

export interface SyncReads
  extends Pick<RoomReads, 'events' | 'stateBefore' | 'stateAfter' | 'currentState' | 'room' | 'statesAround' | 'membershipHistory' | 'redactionsOf' | 'replacedStates' | 'forgottenRooms' | 'childrenOf'> {
  /**
   * The highest positions in this snapshot of the streams kept in the database: events, account data,
   * receipts and to-device (each commits in position order, so nothing below its maximum is missing).
   */
  positions(): Promise<SnapshotPositions>;
  /**
   * What every sync reads first, in one statement: the positions (as `positions`), the user's memberships
   * (as `currentMemberships`), forgotten rooms, the named global account data and the device's key counts.
   * Of the account data, only the contents written after the account-data position `accountDataAfter` are
   * read (default 0: all): a caller holding them as of that position asks for nothing unchanged.
   */
  standing(userId: string, deviceId: string, accountDataTypes: readonly string[], accountDataAfter?: number): Promise<Standing>;
  /** The user's membership in every room whose current state has one. */
  currentMemberships(userId: string): Promise<MembershipRow[]>;
  /** The user's member events with positions in (after, upTo], in stream order. */
  membershipChanges(userId: string, after: number, upTo: number): Promise<MembershipRow[]>;
  /** The newest `limit` timeline events of the room with positions in (after, upTo], oldest first. */
  timeline(roomId: string, after: number, upTo: number, limit: number): Promise<TimelinePage>;
  /** The newest `limit` timeline events of any of the rooms at or below `upTo` not sent by `except`, newest first. */
  latestEventsIn(roomIds: readonly string[], upTo: number, limit: number, except: string): Promise<StoredEvent[]>;
  /** The room's state after the last timeline event at or below the position; empty before the room began. */
  stateAtPosition(roomId: string, position: number): Promise<StateMap>;
  /** The users joined to the room in its state at the position (stateAtPosition's). */
  joinedMembers(roomId: string, position: number): Promise<readonly string[]>;
  accountDataSince(userId: string, since: number): Promise<AccountDataChange[]>;
  /**
   * Per room, where the user's read receipts (m.read or m.read.private, the later of the two) stand: the
   * unthreaded one, the main timeline's and each thread's. Rooms without any are absent.
   */
  readUpTo(userId: string, roomIds: readonly string[]): Promise<Map<string, ReadMarks>>;
  /** The rooms where the user's own receipts moved after the receipts-stream position (their counts changed). */
  ownReceiptRooms(userId: string, since: number): Promise<string[]>;
  /**
   * The users whose devices or keys changed at positions in (after, upTo] of the device-list stream, as
   * `viewer` may see them; onlyForViewer: every such change of that user was for the viewer alone.
   */
  deviceListChanges(viewer: string, after: number, upTo: number): Promise<Array<{ userId: string; onlyForViewer: boolean }>>;
  /** Those of `others` who are joined to a room the user is joined to. */
  sharingRoomWith(userId: string, others: readonly string[]): Promise<Set<string>>;
  /** The member events of the rooms with positions in (after, upTo], in stream order: which room, whose and which membership. */
  memberChangesIn(roomIds: readonly string[], after: number, upTo: number): Promise<Array<{ roomId: string; userId: string; membership: string }>>;
  /** The client transaction ids the device used for these events (serving them back to that device). */
  transactionIds(userId: string, deviceId: string, eventIds: readonly string[]): Promise<Map<string, string>>;
}

/**
 * How a long-poll hears that its client hung up: runs `stop` once the connection closes, and returns what
 * stops watching (called when the poll is answered: with keep-alive the connection outlives it).
 */
export type HangUpWatch = (stop: () => void) => () => void;

export interface Standing {
  readonly positions: SnapshotPositions;
  readonly memberships: readonly MembershipRow[];
  /** The rooms the user forgot since they left (forgottenRooms). */
  readonly forgotten: readonly string[];
  /** The contents of the asked global account-data types the user has, written after `accountDataAfter`. */
  readonly accountData: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** The account-data position of the latest write of the asked types (0: the user has none). */
  readonly accountDataAt: number;
  readonly keyCounts: DeviceKeyCounts;
  /** The rooms the syncing device peeks into (MSC2753, src/rooms/peeks.ts), with the position of each peek. */
  readonly peeks: ReadonlyArray<{ readonly roomId: string; readonly position: number }>;
}

/** A device's one-time key counts and the algorithms of its unused fallback keys. */
export interface DeviceKeyCounts {
  readonly counts: Record<string, number>;
  readonly unusedFallbackTypes: string[];
}

export interface SnapshotPositions {
  readonly events: number;
  readonly accountData: number;
  readonly receipts: number;
  readonly toDevice: number;
  readonly deviceLists: number;
  readonly presence: number;
  /** The peeks stream: devices starting and stopping to peek into rooms. */
  readonly peeks: number;
}

export interface SyncStore {
  /**
   * Runs `fn` in one read-only snapshot of the database. Keep it short: it holds a connection. `fn` may
   * be called more than once (a first attempt may be abandoned for a transaction), so it must leave its
   * effects to the caller, who applies them once it has the result.
   */
  snapshot<T>(fn: (reads: SyncReads) => Promise<T>): Promise<T>;
}

/**
 * The streams that live outside the rooms tables (src/ephemeral, src/e2ee, src/push). They are read after
 * the snapshot, each returning the position its answer reaches, which goes into the next token.
 */
export interface SyncStreams {
  readonly typing: {
    typingSince(roomIds: readonly string[], since: number): { readonly position: number; readonly rooms: ReadonlyMap<string, readonly string[]> };
  };
  readonly receipts: {
    /** Up to `upTo` when given (a position the caller read), else up to the stream's current position. */
    receiptsSince(userId: string, roomIds: readonly string[], since: number, upTo?: number): Promise<{ readonly position: number; readonly rooms: ReadonlyMap<string, object> }>;
  };
  readonly toDevice: {
    /** Up to `upTo` when given (a position the caller read), else up to the stream's current position. */
    toDeviceFor(userId: string, deviceId: string, since: number, limit?: number, upTo?: number): Promise<{ readonly position: number; readonly events: readonly object[] }>;
    /** Drops the device's messages up to the position: the client's since-token has acknowledged them. */
    deleteUpTo(userId: string, deviceId: string, position: number): Promise<void>;
  };
  readonly presence: {
    /** Up to `upTo` when given (a position the caller read), else up to the stream's current position. */
    presenceSince(userIds: readonly string[], since: number, upTo?: number): Promise<{ readonly position: number; readonly events: readonly object[] }>;
    /** The users' m.presence events as they stand, changed lately or not (offline for users never seen). */
    presenceOf(userIds: readonly string[]): Promise<readonly object[]>;
    setFromSync(userId: string, state: 'online' | 'offline' | 'unavailable'): Promise<void>;
  };
  /** One-time and fallback key counts (src/e2ee); without it, sync leaves them out. */
  readonly keys?: {
    deviceKeyCounts(userId: string, deviceId: string): Promise<DeviceKeyCounts>;
  };
  readonly pushRules: {
    /** The user's push rules bound into a judge of events, for unread_notifications, from the m.push_rules content read by the caller. */
    judgeFrom(userId: string, content: Readonly<Record<string, unknown>> | undefined): PushJudge;
    pushRulesAccountData(userId: string): Promise<{ readonly type: string; readonly content: Readonly<Record<string, unknown>> }>;
  };
}

/**
 * Events positions a user has read up to in one room (client-server API, "Threaded read receipts"): an
 * unthreaded receipt reads the whole room up to it, a `main` receipt the main timeline, a thread's receipt
 * that thread.
 */
export interface ReadMarks {
  readonly room: number;
  readonly main: number;
  /** By thread root id. */
  readonly threads: ReadonlyMap<string, number>;
}
