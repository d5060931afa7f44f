import { FederationRequestError } from './client.js';

/**
 * How a failed PUT /send is read. A refusal of the whole transaction (a 4xx such as M_FORBIDDEN or
 * M_BAD_JSON) will be refused again however often it is sent, so the transaction is dropped; anything
 * that may pass later (no answer, a timeout, a 5xx, rate limiting, or our key not yet known to the
 * destination: 401) is retried after a back-off.
 */
export type FailureKind = 'retry' | 'drop';

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
  const refused = failure === 'remote' && status !== undefined && status >= 400 && status < 500 && !RETRYABLE_4XX.has(status);
  return { kind: refused ? 'drop' : 'retry', ...details };
}
