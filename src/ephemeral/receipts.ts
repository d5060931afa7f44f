import { isEventId, MatrixError, parseEventId, type RoomId, type UserId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Requester } from '../users/index.js';
import { joinedRoom } from './membership.js';
import type { MembershipReads, NewReceipt, ReadMarkerStore, ReceiptStore, ReceiptType, StreamNotifier } from './ports.js';

/**
 * Read receipts (m.read, m.read.private, threaded or not) on the receipts stream, and the fully-read
 * marker (m.fully_read room account data, which clients cannot set directly). Each user has one receipt
 * per room, type and thread; a receipt for an earlier event than the stored one changes nothing.
 */

const RECEIPT_TYPES: ReadonlySet<string> = new Set<ReceiptType>(['m.read', 'm.read.private']);
const FULLY_READ = 'm.fully_read';

/** An m.receipt event's content: event id -> receipt type -> user id -> { ts, thread_id? }. */
export type ReceiptContent = Record<string, Record<string, Record<string, { ts: number; thread_id?: string }>>>;

export interface ReceiptsSince {
  readonly position: number;
  /** Per room, the receipts that changed (since 0: all of them), as one m.receipt content. */
  readonly rooms: Map<string, ReceiptContent>;
}

export interface ReadMarkers {
  readonly fullyRead?: string;
  readonly read?: string;
  readonly readPrivate?: string;
}

export interface ReceiptDeps {
  readonly store: ReceiptStore;
  /** Room account data; server.ts gives the store that announces writes on the account-data stream. */
  readonly readMarkers: ReadMarkerStore;
  readonly rooms: MembershipReads;
  readonly clock: Clock;
  /** Told of every new receipts-stream position, with the room. */
  readonly notify: StreamNotifier;
  /** Told of each receipt a user set that changed the stored one (federation's m.receipt); never throws. */
  readonly federate?: (receipt: NewReceipt) => Promise<void>;
}

export function createReceiptService(deps: ReceiptDeps) {
  const { store, readMarkers, rooms, clock, notify } = deps;

  /** The event's place on the events stream, once it is known to be in the room's timeline. */
  async function timelinePosition(roomId: RoomId, value: string): Promise<number> {
    const eventId = parseEventId(value);
    const stored = (await rooms.events([eventId])).get(eventId);
    if (stored === undefined || stored.event.roomId !== roomId || stored.rejectedReason !== null || stored.streamPosition === null) {
      throw new MatrixError('M_NOT_FOUND', `There is no event ${eventId} in room ${roomId}`);
    }
    return stored.streamPosition;
  }

  function parseThreadId(threadId: string | undefined): string | null {
    if (threadId === undefined) return null;
    if (threadId === 'main' || isEventId(threadId)) return threadId;
    throw new MatrixError('M_INVALID_PARAM', "thread_id must be 'main' or the event id of a thread root");
  }

  async function putReceipt(userId: UserId, roomId: RoomId, receiptType: ReceiptType, eventId: string, threadId: string | null): Promise<void> {
    const eventPosition = await timelinePosition(roomId, eventId);
    const receipt: NewReceipt = { roomId, userId, receiptType, threadId, eventId, eventPosition, ts: clock.now() };
    const position = await store.putReceipt(receipt);
    if (position !== null) {
      notify({ position, rooms: [roomId] });
      await deps.federate?.(receipt);
    }
  }

  /** Moves the fully-read marker, never back to an earlier event. */
  async function setFullyRead(userId: UserId, roomId: RoomId, eventId: string): Promise<void> {
    const newPosition = await timelinePosition(roomId, eventId);
    const current = (await readMarkers.accountData(userId, roomId, FULLY_READ))?.event_id;
    if (typeof current === 'string' && current !== eventId) {
      const old = (await rooms.events([current])).get(current)?.streamPosition;
      if (typeof old === 'number' && old > newPosition) return;
    } else if (current === eventId) {
      return;
    }
    await readMarkers.putAccountData(userId, roomId, FULLY_READ, { event_id: eventId });
  }

  return {
    /** POST /rooms/{roomId}/receipt/{receiptType}/{eventId}; m.fully_read moves the read marker. */
    async sendReceipt(requester: Requester, roomIdValue: string, receiptType: string, eventId: string, threadIdValue?: string): Promise<void> {
      if (receiptType !== FULLY_READ && !RECEIPT_TYPES.has(receiptType)) {
        throw new MatrixError('M_INVALID_PARAM', 'The receipt type must be m.read, m.read.private or m.fully_read');
      }
      if (receiptType === FULLY_READ && threadIdValue !== undefined) {
        throw new MatrixError('M_INVALID_PARAM', 'thread_id cannot be given for m.fully_read');
      }
      const threadId = parseThreadId(threadIdValue);
      const roomId = await joinedRoom(rooms, roomIdValue, requester.userId);
      if (receiptType === FULLY_READ) await setFullyRead(requester.userId, roomId, eventId);
      else await putReceipt(requester.userId, roomId, receiptType as ReceiptType, eventId, threadId);
    },

    /** POST /rooms/{roomId}/read_markers: the fully-read marker and, optionally, unthreaded receipts. */
    async setReadMarkers(requester: Requester, roomIdValue: string, markers: ReadMarkers): Promise<void> {
      const roomId = await joinedRoom(rooms, roomIdValue, requester.userId);
      // Check every event first, so a bad one changes nothing.
      for (const eventId of [markers.fullyRead, markers.read, markers.readPrivate]) {
        if (eventId !== undefined) await timelinePosition(roomId, eventId);
      }
      if (markers.fullyRead !== undefined) await setFullyRead(requester.userId, roomId, markers.fullyRead);
      if (markers.read !== undefined) await putReceipt(requester.userId, roomId, 'm.read', markers.read, null);
      if (markers.readPrivate !== undefined) await putReceipt(requester.userId, roomId, 'm.read.private', markers.readPrivate, null);
    },

    /**
     * For sync: the receipts in `roomIds` that changed after `since` (since 0: the latest of each), as
     * m.receipt contents. m.read.private receipts are only ever shown to their own user.
     */
    async receiptsSince(userId: string, roomIds: readonly string[], since: number, upTo?: number): Promise<ReceiptsSince> {
      // Read the position first: rows committed meanwhile are above it and come at the next sync.
      const position = upTo ?? (await store.receiptsStreamPosition());
      const changes = new Map<string, ReceiptContent>();
      if (roomIds.length === 0 || since >= position) return { position, rooms: changes };
      for (const receipt of await store.receiptsSince(userId, roomIds, since, position)) {
        let content = changes.get(receipt.roomId);
        if (content === undefined) changes.set(receipt.roomId, (content = {}));
        const byType = (content[receipt.eventId] ??= {});
        const byUser = (byType[receipt.receiptType] ??= {});
        byUser[receipt.userId] = receipt.threadId === null ? { ts: receipt.ts } : { ts: receipt.ts, thread_id: receipt.threadId };
      }
      return { position, rooms: changes };
    },

    /** The receipts stream's current position. */
    position: (): Promise<number> => store.receiptsStreamPosition(),
  };
}

export type ReceiptService = ReturnType<typeof createReceiptService>;
