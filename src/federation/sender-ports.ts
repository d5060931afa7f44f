import type { PduJson } from '../events/index.js';
import type { TimelineEvent } from '../rooms/index.js';

/**
 * What the outbound federation sender needs from the rest of Hearth. src/storage implements the queue store
 * (federation-queue-store.ts on migrations/0019_federation_queue.sql); server.ts wires the client and the
 * events-stream notices.
 */

/** The signed federation client (src/federation/client.ts): PUT /send goes through it. */
export type { FederationClient } from './client.js';

export interface QueuedPdu {
  readonly position: number;
  readonly eventId: string;
  /** The PDU exactly as stored (federation format); null when the event is no longer stored. */
  readonly pdu: PduJson | null;
}

export interface QueuedEdu {
  readonly id: number;
  readonly eduType: string;
  readonly content: Readonly<Record<string, unknown>>;
  /** When it was queued (ms): a typing notice that waited out a back-off is no longer news. */
  readonly queuedTs: number;
}

export interface QueuedBatch {
  readonly pdus: readonly QueuedPdu[];
  readonly edus: readonly QueuedEdu[];
}

/** How a destination is doing: retryIntervalMs 0 while it answers. */
export interface DestinationState {
  readonly retryIntervalMs: number;
  readonly nextAttemptTs: number;
  readonly lastSuccessTs: number | null;
  readonly lastSentPosition: number;
}

export const HEALTHY_DESTINATION: DestinationState = { retryIntervalMs: 0, nextAttemptTs: 0, lastSuccessTs: null, lastSentPosition: 0 };

export interface PduForDestination {
  readonly destination: string;
  readonly position: number;
  readonly eventId: string;
}

export interface FederationQueueStore {
  /** The last events-stream position whose local events were queued. */
  senderPosition(): Promise<number>;
  /** Events on the stream above `position` (timeline events only), oldest first, at most `limit`. */
  eventsAfter(position: number, limit: number): Promise<TimelineEvent[]>;
  /**
   * Queues the PDUs and moves the sender position to `upTo` (never back), in one transaction, so a crash
   * neither loses nor repeats them. Queuing a PDU already queued changes nothing.
   */
  queuePdus(entries: readonly PduForDestination[], upTo: number): Promise<void>;
  /** Queues one EDU per destination; a dedupe key replaces the destination's waiting EDU with that key. */
  queueEdu(destinations: readonly string[], eduType: string, content: Readonly<Record<string, unknown>>, dedupeKey: string | null, nowMs: number): Promise<void>;
  /** The destinations with anything queued, sorted. */
  destinationsWithWork(): Promise<string[]>;
  /** The oldest queued PDUs and EDUs of a destination. */
  nextBatch(destination: string, maxPdus: number, maxEdus: number): Promise<QueuedBatch>;
  /**
   * Removes what a transaction carried. With `successTs` the destination answered: its back-off is cleared,
   * and its last sent position moves up to the highest PDU position carried.
   */
  removeSent(destination: string, pduPositions: readonly number[], eduIds: readonly number[], successTs: number | null): Promise<void>;
  destinationState(destination: string): Promise<DestinationState>;
  /** Records a failed attempt: the back-off now in force and when to try again. */
  recordFailure(destination: string, retryIntervalMs: number, nextAttemptTs: number): Promise<void>;
  /** Clears the back-off (the destination was heard from). */
  clearBackoff(destination: string): Promise<void>;
}
