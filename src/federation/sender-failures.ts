import { FederationRequestError } from './client.js';

/**
 * How a failed PUT /send is read. A refusal of the whole transaction (a 4xx such as M_FORBIDDEN or
 * M_BAD_JSON) will be refused again however often it is sent, so the transaction is dropped; anything
 * that may pass later (no answer, a timeout, a gateway or unavailability status, rate limiting, or our key
 * not yet known to the destination: 401) is retried after a back-off. A `fault` is the destination
 * answering with its own internal error (500 and the other 5xx that are not 502/503/504): it is up, but
 * something in what we sent may be breaking it, so the queue retries it a bounded number of times before
 * looking for the item at fault (queue.ts).
 */
export type FailureKind = 'retry' | 'drop' | 'fault';

/** 5xx statuses that say the server behind is away (a proxy's gateway errors, maintenance), not failing. */
const UNAVAILABLE_5XX = new Set([502, 503, 504]);

/** 4xx statuses worth retrying: timeouts, rate limits, and signatures the other side could not check yet. */
const RETRYABLE_4XX = new Set([401, 408, 425, 429]);

export interface FailureSummary {
  readonly kind: FailureKind;
  /** What went wrong on our side ('unreachable', 'timeout' ...) or 'remote'. */
  readonly failure?: string;
  readonly status?: number;
  readonly errcode?: string;
}

export function summariseFailure(err: unknown): FailureSummary {
  if (!(err instanceof FederationRequestError)) return { kind: 'retry' };
  const { kind: failure, remoteStatus: status, remoteErrcode: errcode } = err;
  const details = { failure, ...(status !== undefined ? { status } : {}), ...(errcode !== undefined ? { errcode } : {}) };
  // Not a server name: no later attempt can reach it.
  if (failure === 'invalid_destination') return { kind: 'drop', ...details };
  if (failure !== 'remote' || status === undefined) return { kind: 'retry', ...details };
  if (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) return { kind: 'drop', ...details };
  if (status >= 500 && !UNAVAILABLE_5XX.has(status)) return { kind: 'fault', ...details };
  return { kind: 'retry', ...details };
}
