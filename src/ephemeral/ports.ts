import type { RoomReads } from '../rooms/index.js';
import type { AccountDataStore } from '../users/index.js';

/**
 * What the ephemeral services (typing, receipts, read markers, presence) need from storage and the rest of
 * Hearth. src/storage implements the stores on PostgreSQL (both engines); server.ts wires the notifiers to
 * the bus (src/platform/stream-notices.ts).
 */

/** "Stream X advanced to `position`", with the rooms or users whose readers should look again. */
export interface StreamNotice {
  readonly position: number;
  /** Room-scoped changes (typing, receipts). */
  readonly rooms?: readonly string[];
  /** User-scoped changes (to-device: the recipients; presence: the user whose presence changed). */
  readonly users?: readonly string[];
}

/** Told after a change is visible to readers; never throws (a failed publish is logged). */
export type StreamNotifier = (notice: StreamNotice) => void;

/** The room reads the membership checks need. */
export type MembershipReads = Pick<RoomReads, 'room' | 'currentStateEntries' | 'events' | 'roomsWithMembership'>;

/** Receipt types that are stored on the receipts stream (m.fully_read is a read marker, in account data). */
export type ReceiptType = 'm.read' | 'm.read.private';

export interface NewReceipt {
  readonly roomId: string;
  readonly userId: string;
  readonly receiptType: ReceiptType;
  /** null: unthreaded; else 'main' or a thread root's event id. */
  readonly threadId: string | null;
  readonly eventId: string;
  /** The event's position on the events stream, so an older event never replaces a newer one. */
  readonly eventPosition: number | null;
  readonly ts: number;
}

export interface StoredReceipt {
  readonly roomId: string;
  readonly userId: string;
  readonly receiptType: ReceiptType;
  readonly threadId: string | null;
  readonly eventId: string;
  readonly ts: number;
  readonly streamPosition: number;
}

export interface ReceiptStore {
  /**
   * Replaces the user's receipt of that type and thread in the room, unless the stored one points at a
   * later event. Returns the new stream position, or null when nothing changed.
   */
  putReceipt(receipt: NewReceipt): Promise<number | null>;
  /**
   * Receipts in the rooms above `since` (since 0: every receipt of the rooms), up to `upTo`;
   * m.read.private receipts only of `viewer`.
   */
  receiptsSince(viewer: string, roomIds: readonly string[], since: number, upTo: number): Promise<StoredReceipt[]>;
  receiptsStreamPosition(): Promise<number>;
}

export type PresenceState = 'online' | 'unavailable' | 'offline';

export interface PresenceRecord {
  readonly userId: string;
  readonly state: PresenceState;
  readonly statusMsg: string | null;
  readonly lastActiveTs: number;
  readonly streamPosition: number;
}

export interface PresenceStore {
  presence(userId: string): Promise<PresenceRecord | undefined>;
  /** Writes the user's presence at a new stream position; returns it. */
  putPresence(userId: string, state: PresenceState, statusMsg: string | null, lastActiveTs: number): Promise<number>;
  /** Bumps the last-active time only (no new position: nothing others are told about changed). */
  touchPresence(userId: string, lastActiveTs: number): Promise<void>;
  /**
   * touchPresence, in one statement, only if the user's presence is `state` and, for 'online', their last
   * activity is after `activeAfter` (they are currently active): the one case where nothing others see
   * changes. False, writing nothing, otherwise.
   */
  touchPresenceIfUnchanged(userId: string, state: PresenceState, lastActiveTs: number, activeAfter: number): Promise<boolean>;
  /** Presence rows of the users above `since` (since 0: all of them), up to `upTo`. */
  presenceSince(userIds: readonly string[], since: number, upTo: number): Promise<PresenceRecord[]>;
  presenceStreamPosition(): Promise<number>;
}

/** Room account data holds the m.fully_read marker; the account-data service refuses clients setting it. */
export type ReadMarkerStore = Pick<AccountDataStore, 'putAccountData' | 'accountData'>;
