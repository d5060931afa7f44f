import { isPlainObject } from '../crypto/index.js';
import { eventIdOf, getRoomVersion, stateKey, type RoomVersionRules } from '../events/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { MatrixError } from '../protocol/index.js';
import { serverAclAllows, type ReceiveOutcome, type RoomReads } from '../rooms/index.js';
import type { InboundEdu } from './inbound-edus.js';
import type { InboundTransactionStore, TransactionResponse } from './inbound-ports.js';

/**
 * Inbound transactions (PUT /_matrix/federation/v1/send/{txnId}, server-server API "Transactions"): the
 * body is checked, each PDU goes through the receive pipeline (gaps filled from the origin), the EDUs are
 * handled, and the answer is stored, so a retried transaction gets the same answer and changes nothing.
 *
 * One transaction per origin at a time, as Synapse does: a retry that arrives while the first attempt is
 * still running waits for it and then finds its answer. The PDUs of one room are handled in order, rooms
 * side by side. (Per process: several processes each serialise their own requests, and the stored answer
 * still stops a transaction being handled twice once one has finished.)
 */

export const MAX_PDUS = 50;
export const MAX_EDUS = 100;
/** How long an answer is kept for retries; senders retry for minutes. */
export const TRANSACTION_MEMORY_MS = 24 * 3600_000;

export interface TransactionBody {
  readonly origin: string;
  readonly origin_server_ts: number;
  readonly pdus: readonly unknown[];
  readonly edus?: readonly InboundEdu[];
}

export interface TransactionDeps {
  readonly store: Pick<InboundTransactionStore, 'transactionResponse' | 'recordTransaction'>;
  readonly rooms: Pick<RoomReads, 'room' | 'currentStateEntries' | 'events' | 'hasJoinedMember'>;
  /** This server: PDUs are taken only for rooms one of its users is joined to. */
  readonly serverName: string;
  /** The receive pipeline with gap filling (missing-events.ts). */
  readonly pdus: { receiveFilling(roomId: string, rules: RoomVersionRules, json: unknown, origin: string): Promise<ReceiveOutcome> };
  readonly edus: { receiveEdus(origin: string, edus: readonly InboundEdu[]): Promise<void> };
  /** The origin was heard from: the outbound queue to it may go now (sender.destinationReachable). */
  readonly reachable: (origin: string) => Promise<void>;
  readonly clock: Clock;
  readonly log: Logger;
}

interface PduEntry {
  readonly eventId: string;
  readonly roomId: string;
  readonly rules: RoomVersionRules | undefined;
  readonly json: unknown;
}

/** Room versions to name a PDU for a room we do not know: v1-2 carry their id, later ones hash it (v4+ URL-safe). */
const GUESS_RULES = [getRoomVersion('1'), getRoomVersion('10')].filter((rules): rules is RoomVersionRules => rules !== undefined);

export function createTransactionReceiver(deps: TransactionDeps) {
  const { store, rooms, clock, log } = deps;
  /** The tail of each origin's chain of transactions. */
  const running = new Map<string, Promise<unknown>>();

  function check(origin: string, body: TransactionBody): void {
    if (body.origin !== origin) {
      throw new MatrixError('M_FORBIDDEN', `The transaction's origin ${body.origin} is not the server that signed the request (${origin})`);
    }
    if (body.pdus.length > MAX_PDUS) throw new MatrixError('M_BAD_JSON', `A transaction may hold at most ${MAX_PDUS} PDUs; this one has ${body.pdus.length}`);
    if ((body.edus?.length ?? 0) > MAX_EDUS) throw new MatrixError('M_BAD_JSON', `A transaction may hold at most ${MAX_EDUS} EDUs; this one has ${body.edus!.length}`);
  }

  /** The PDU's room and id; undefined when it cannot be named (no room_id, an id that cannot be computed). */
  async function entryOf(json: unknown): Promise<PduEntry | undefined> {
    if (!isPlainObject(json) || typeof json.room_id !== 'string') return undefined;
    const roomId = json.room_id;
    const room = await rooms.room(roomId);
    const rules = room === undefined ? undefined : getRoomVersion(room.roomVersion);
    for (const candidate of rules ? [rules] : GUESS_RULES) {
      try {
        return { eventId: eventIdOf(json, candidate), roomId, rules, json };
      } catch {
        // Try the next way of naming it.
      }
    }
    return undefined;
  }

  async function aclAllows(roomId: string, origin: string): Promise<boolean> {
    const key = stateKey('m.room.server_acl', '');
    const eventId = (await rooms.currentStateEntries(roomId, [key])).get(key);
    const content = eventId === undefined ? undefined : (await rooms.events([eventId])).get(eventId)?.event.content;
    return serverAclAllows(content, origin);
  }

  async function handlePdu(origin: string, entry: PduEntry): Promise<{ error?: string }> {
    // A room known only through an invite or a knock is not ours: its events come once a user joins.
    if (entry.rules === undefined || !(await rooms.hasJoinedMember(entry.roomId, deps.serverName))) {
      return { error: `This server is not in room ${entry.roomId}` };
    }
    // Read per PDU: an earlier PDU of the transaction may have changed the ACL.
    if (!(await aclAllows(entry.roomId, origin))) return { error: `${origin} is denied access to room ${entry.roomId} by its server ACL` };
    try {
      const outcome = await deps.pdus.receiveFilling(entry.roomId, entry.rules, entry.json, origin);
      switch (outcome.status) {
        case 'accepted':
        case 'soft-failed':
        case 'duplicate':
        case 'outlier':
          return {};
        case 'rejected':
          // Stored as rejected (it failed the auth rules) is handled, as Synapse answers: the sender has
          // nothing to retry. An error names only PDUs not taken at all (format, signatures, state).
          return outcome.stored ? {} : { error: outcome.reason };
        case 'missing':
          return { error: `Could not get the events before it (${outcome.missing.slice(0, 3).join(', ')})` };
      }
    } catch (err) {
      log.error({ err, origin, roomId: entry.roomId, eventId: entry.eventId }, 'inbound PDU failed');
      return { error: 'This server failed to process the event' };
    }
  }

  async function process(origin: string, txnId: string, body: TransactionBody): Promise<TransactionResponse> {
    const earlier = await store.transactionResponse(origin, txnId);
    if (earlier !== undefined) return earlier;

    const byRoom = new Map<string, PduEntry[]>();
    for (const json of body.pdus) {
      const entry = await entryOf(json);
      if (entry === undefined) {
        log.info({ origin, txnId }, 'PDU without a usable room_id or event id dropped');
        continue;
      }
      byRoom.set(entry.roomId, [...(byRoom.get(entry.roomId) ?? []), entry]);
    }
    const results: Record<string, { error?: string }> = {};
    await Promise.all([...byRoom.values()].map(async (entries) => {
      for (const entry of entries) results[entry.eventId] = await handlePdu(origin, entry);
    }));
    // After the PDUs: a receipt may point at an event of this same transaction.
    await deps.edus.receiveEdus(origin, body.edus ?? []);

    const response: TransactionResponse = { pdus: results };
    const now = clock.now();
    await store.recordTransaction(origin, txnId, response, now, now - TRANSACTION_MEMORY_MS);
    return response;
  }

  return {
    /** PUT /send/{txnId} from `origin` (the verified X-Matrix origin). */
    async receive(origin: string, txnId: string, body: TransactionBody): Promise<TransactionResponse> {
      check(origin, body);
      const previous = running.get(origin) ?? Promise.resolve();
      const mine = previous.catch(() => undefined).then(() => process(origin, txnId, body));
      running.set(origin, mine);
      try {
        const response = await mine;
        await deps.reachable(origin).catch((err: unknown) => log.warn({ err, origin }, 'marking the origin reachable failed'));
        return response;
      } finally {
        if (running.get(origin) === mine) running.delete(origin);
      }
    },
  };
}

export type TransactionReceiver = ReturnType<typeof createTransactionReceiver>;
