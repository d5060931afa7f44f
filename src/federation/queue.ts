import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Scheduler } from '../ephemeral/index.js';
import type { DestinationState, FederationClient, FederationQueueStore, QueuedBatch, QueuedEdu } from './sender-ports.js';
import { summariseFailure } from './sender-failures.js';

/** The spec's limits on one transaction. */
export const MAX_PDUS_PER_TRANSACTION = 50;
export const MAX_EDUS_PER_TRANSACTION = 100;

export interface BackoffPolicy {
  /** The wait after the first failure; each further failure doubles it. */
  readonly initialMs: number;
  /** The longest wait between attempts. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 5_000, maxMs: 60 * 60 * 1000 };

/**
 * How often in a row a destination may answer the same transaction with an internal error before the
 * queue stops sending it whole: a transaction of several items is split in two, a single PDU or EDU is
 * dropped. One event the destination cannot digest would otherwise hold back everything after it.
 */
export const FAULTS_BEFORE_SPLIT = 3;

/**
 * How long a queued m.typing stays worth sending: a receiving server times typing out after about 30 s
 * (Synapse: 30 s; Hearth: REMOTE_TYPING_TIMEOUT_MS), so one that waited out a back-off is dropped unsent.
 */
export const TYPING_EDU_TTL_MS = 60_000;

export interface DestinationQueueDeps {
  readonly store: FederationQueueStore;
  readonly client: FederationClient;
  readonly clock: Clock;
  readonly random: Random;
  readonly scheduler: Scheduler;
  readonly log: Logger;
  readonly serverName: string;
  readonly backoff: BackoffPolicy;
  readonly maxPdus: number;
  readonly maxEdus: number;
}

/** A transaction as sent, kept whole while it is retried: same id, same PDUs and EDUs. */
interface Transaction {
  readonly txnId: string;
  readonly batch: QueuedBatch;
  readonly body: {
    readonly origin: string;
    readonly origin_server_ts: number;
    readonly pdus: readonly unknown[];
    readonly edus: ReadonlyArray<{ readonly edu_type: string; readonly content: unknown }>;
  };
}

/** The answer to PUT /send: a result per PDU, with `error` when that PDU was not accepted. */
interface SendResponse {
  readonly pdus?: Readonly<Record<string, { readonly error?: unknown } | undefined>>;
}

/**
 * The queue of one remote server. What waits is in the store; this object only drives sending: one
 * transaction in flight at a time, the same transaction again after a failure (after a back-off that
 * doubles up to a cap), and the next one as soon as the previous one was answered, until nothing waits.
 *
 * A transaction the destination keeps answering with an internal error (FAULTS_BEFORE_SPLIT times) is
 * bisected rather than retried forever: its PDUs and EDUs go separately, then in halves, each half under a
 * new transaction id, until the item at fault travels alone and is dropped. The rest is delivered in
 * order meanwhile. A dropped PDU is not lost to the room: the destination fetches it through
 * get_missing_events when a later event names it. Split parts live in memory only; after a restart the
 * store's queue forms whole transactions again and the search starts over.
 */
export class DestinationQueue {
  readonly destination: string;
  private readonly deps: DestinationQueueDeps;
  private readonly log: Logger;
  private state: DestinationState | undefined;
  /**
   * Transactions formed but not yet delivered, the next first: one that failed and is sent again,
   * unchanged, at the next attempt, or the parts of one that was split.
   */
  private pending: Transaction[] = [];
  /** Internal errors the destination answered in a row to pending[0]. */
  private faults = 0;
  private running: Promise<void> | undefined;
  private wokenWhileRunning = false;
  private cancelTimer: (() => void) | undefined;
  private closed = false;

  constructor(destination: string, deps: DestinationQueueDeps) {
    this.destination = destination;
    this.deps = deps;
    this.log = deps.log.child({ destination });
  }

  /** There may be something to send: sends it unless the destination is backing off. */
  wake(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.wokenWhileRunning = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  /** The destination was heard from (it sent us something): try it now rather than at the back-off's end. */
  async markReachable(): Promise<void> {
    if (this.closed) return;
    const state = await this.currentState();
    if (state.retryIntervalMs === 0 && state.nextAttemptTs === 0) return;
    this.state = { ...state, retryIntervalMs: 0, nextAttemptTs: 0 };
    await this.deps.store.clearBackoff(this.destination);
    this.clearTimer();
    this.wake();
  }

  /** Resolves once no transaction is being sent (a back-off timer may still be set). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Stops sending: no new attempts; waits for the transaction in flight to be answered or fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.idle();
  }

  /** Whether the destination is waiting out a back-off (for tests and the admin API). */
  get backingOff(): boolean {
    return this.state !== undefined && this.state.nextAttemptTs > this.deps.clock.now();
  }

  private async run(): Promise<void> {
    try {
      do {
        this.wokenWhileRunning = false;
        await this.drain();
      } while (this.wokenWhileRunning && !this.closed && !this.backingOff);
    } catch (err) {
      // A storage failure: the work stays queued; try again after a back-off like an unreachable server.
      this.log.error({ err }, 'federation queue failed');
      await this.failed().catch((inner: unknown) => this.log.error({ err: inner }, 'could not record a federation failure'));
    }
  }

  private async currentState(): Promise<DestinationState> {
    this.state ??= await this.deps.store.destinationState(this.destination);
    return this.state;
  }

  /** Sends transactions until nothing waits, the destination fails, or the queue closes. */
  private async drain(): Promise<void> {
    while (!this.closed) {
      const state = await this.currentState();
      const now = this.deps.clock.now();
      if (state.nextAttemptTs > now) {
        this.schedule(state.nextAttemptTs - now);
        return;
      }
      const waiting = this.pending.shift();
      const txn = waiting === undefined ? await this.nextTransaction() : await this.withoutStale(waiting);
      if (txn === undefined) {
        if (waiting !== undefined) continue;
        return;
      }

      let response: SendResponse;
      try {
        response = await this.deps.client.request<SendResponse>(
          this.destination,
          'PUT',
          `/_matrix/federation/v1/send/${encodeURIComponent(txn.txnId)}`,
          { body: txn.body },
        );
      } catch (err) {
        const failure = summariseFailure(err);
        const size = { pdus: txn.batch.pdus.length, edus: txn.batch.edus.length };
        if (failure.kind === 'drop') {
          // Refused as a whole: sending it again would be refused again.
          this.log.warn({ txnId: txn.txnId, ...failure, ...size }, 'destination refused a transaction; dropped');
          this.faults = 0;
          await this.remove(txn, null);
          continue;
        }
        this.faults = failure.kind === 'fault' ? this.faults + 1 : 0;
        if (this.faults >= FAULTS_BEFORE_SPLIT) {
          this.faults = 0;
          await this.isolateFault(txn, failure);
          continue;
        }
        this.pending.unshift(txn);
        this.log.info({ txnId: txn.txnId, ...failure, ...size, err: describe(err) }, 'could not send a transaction; backing off');
        await this.failed();
        return;
      }
      this.faults = 0;
      this.logPduErrors(txn, response);
      await this.remove(txn, this.deps.clock.now());
    }
  }

  /**
   * The destination failed on `txn` every time: splits it (PDUs apart from EDUs, then halves) and sends the
   * parts next, or drops it when it holds a single item. The back-off starts over, since the destination
   * answers; it is what we send that it cannot take.
   */
  private async isolateFault(txn: Transaction, failure: ReturnType<typeof summariseFailure>): Promise<void> {
    const { pdus, edus } = txn.batch;
    if (pdus.length + edus.length <= 1) {
      const item = pdus.length === 1 ? { eventId: pdus[0]!.eventId } : { eduType: edus[0]?.eduType };
      this.log.warn({ txnId: txn.txnId, ...failure, ...item }, 'destination fails on this item every time; dropped');
      await this.remove(txn, null);
    } else {
      const parts: QueuedBatch[] =
        pdus.length > 0 && edus.length > 0
          ? [{ pdus, edus: [] }, { pdus: [], edus }]
          : [
              { pdus: pdus.slice(0, Math.ceil(pdus.length / 2)), edus: edus.slice(0, Math.ceil(edus.length / 2)) },
              { pdus: pdus.slice(Math.ceil(pdus.length / 2)), edus: edus.slice(Math.ceil(edus.length / 2)) },
            ];
      this.log.warn({ txnId: txn.txnId, ...failure, pdus: pdus.length, edus: edus.length }, 'destination fails on this transaction every time; sending it in parts');
      this.pending.unshift(...parts.map((part) => this.transaction(part)));
    }
    const state = await this.currentState();
    this.state = { ...state, retryIntervalMs: 0, nextAttemptTs: 0 };
    await this.deps.store.clearBackoff(this.destination);
  }

  private async nextTransaction(): Promise<Transaction | undefined> {
    const batch = await this.deps.store.nextBatch(this.destination, this.deps.maxPdus, this.deps.maxEdus);
    const gone = batch.pdus.filter((p) => p.pdu === null);
    if (gone.length > 0) {
      // Queued events no longer stored (purged): nothing to send for them.
      this.log.warn({ events: gone.map((p) => p.eventId) }, 'queued events are no longer stored; skipped');
      await this.deps.store.removeSent(this.destination, gone.map((p) => p.position), [], null);
    }
    const stale = await this.dropStale(batch.edus);
    const pdus = batch.pdus.filter((p) => p.pdu !== null);
    const edus = stale.size === 0 ? batch.edus : batch.edus.filter((e) => !stale.has(e.id));
    if (pdus.length === 0 && edus.length === 0) {
      return gone.length > 0 || stale.size > 0 ? this.nextTransaction() : undefined;
    }
    return this.transaction({ pdus, edus });
  }

  /** Drops from the store the typing notices among `edus` that waited too long; their ids. */
  private async dropStale(edus: readonly QueuedEdu[]): Promise<Set<number>> {
    const now = this.deps.clock.now();
    const stale = edus.filter((e) => e.eduType === 'm.typing' && now - e.queuedTs > TYPING_EDU_TTL_MS).map((e) => e.id);
    if (stale.length > 0) {
      this.log.debug({ edus: stale.length }, 'typing notices that waited too long; dropped unsent');
      await this.deps.store.removeSent(this.destination, [], stale, null);
    }
    return new Set(stale);
  }

  /**
   * A transaction sent again: unchanged, unless a typing notice in it went stale meanwhile; then the rest
   * goes as a new transaction (what the destination may have taken already is taken again harmlessly:
   * PDUs by event id, to-device by message id). Undefined when nothing is left.
   */
  private async withoutStale(txn: Transaction): Promise<Transaction | undefined> {
    const stale = await this.dropStale(txn.batch.edus);
    if (stale.size === 0) return txn;
    const edus = txn.batch.edus.filter((e) => !stale.has(e.id));
    return txn.batch.pdus.length === 0 && edus.length === 0 ? undefined : this.transaction({ pdus: txn.batch.pdus, edus });
  }

  /** A transaction of the batch under a new id. */
  private transaction(batch: QueuedBatch): Transaction {
    const now = this.deps.clock.now();
    return {
      txnId: `${now}.${this.deps.random.token(6)}`,
      batch,
      body: {
        origin: this.deps.serverName,
        origin_server_ts: now,
        pdus: batch.pdus.map((p) => p.pdu),
        edus: batch.edus.map((e) => ({ edu_type: e.eduType, content: e.content })),
      },
    };
  }

  private async remove(txn: Transaction, successTs: number | null): Promise<void> {
    const positions = txn.batch.pdus.map((p) => p.position);
    await this.deps.store.removeSent(this.destination, positions, txn.batch.edus.map((e) => e.id), successTs);
    if (successTs !== null && this.state !== undefined) {
      this.state = {
        retryIntervalMs: 0,
        nextAttemptTs: 0,
        lastSuccessTs: successTs,
        lastSentPosition: Math.max(this.state.lastSentPosition, ...positions),
      };
    }
  }

  /** Per-PDU errors are the destination's verdict on that event: logged, never retried. */
  private logPduErrors(txn: Transaction, response: SendResponse): void {
    const results = response?.pdus;
    if (typeof results !== 'object' || results === null) return;
    for (const { eventId } of txn.batch.pdus) {
      const error = results[eventId]?.error;
      if (error !== undefined) this.log.warn({ txnId: txn.txnId, eventId, error: String(error).slice(0, 200) }, 'destination did not accept a PDU');
    }
  }

  private async failed(): Promise<void> {
    const state = await this.currentState();
    const { initialMs, maxMs } = this.deps.backoff;
    const interval = state.retryIntervalMs === 0 ? initialMs : Math.min(state.retryIntervalMs * 2, maxMs);
    const nextAttemptTs = this.deps.clock.now() + interval;
    this.state = { ...state, retryIntervalMs: interval, nextAttemptTs };
    await this.deps.store.recordFailure(this.destination, interval, nextAttemptTs);
    this.schedule(interval);
  }

  private schedule(ms: number): void {
    this.clearTimer();
    if (this.closed) return;
    this.cancelTimer = this.deps.scheduler.after(ms, () => {
      this.cancelTimer = undefined;
      this.wake();
    });
  }

  private clearTimer(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }
}

/** An error for the log without whatever a request body or answer may hold: its name and message only. */
function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
}
