import { MatrixError } from '../protocol/index.js';
import type { SearchCursor } from './ports.js';

/**
 * The `next_batch` token of POST /search: opaque to clients, to us the order it was given for, the last
 * row read, and the group it stays in when it came from a group. Base64url of a short JSON. Pure.
 */

export type GroupKey = 'room_id' | 'sender';
export type SearchOrder = 'rank' | 'recent';

export interface BatchToken {
  readonly order: SearchOrder;
  readonly cursor: SearchCursor;
  readonly group: { readonly key: GroupKey; readonly value: string } | undefined;
}

export function formatBatchToken(token: BatchToken): string {
  const wire = [token.order, token.cursor.rank, token.cursor.position, ...(token.group ? [token.group.key, token.group.value] : [])];
  return Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
}

/** M_INVALID_PARAM for anything this server did not give out, or a token of another order. */
export function parseBatchToken(text: string, order: SearchOrder): BatchToken {
  const invalid = () => new MatrixError('M_INVALID_PARAM', 'next_batch is not a token this server gave out for this search');
  let wire: unknown;
  try {
    wire = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(wire) || (wire.length !== 3 && wire.length !== 5)) throw invalid();
  const [tokenOrder, rank, position, key, value] = wire as unknown[];
  if (tokenOrder !== order) throw invalid();
  if (typeof rank !== 'number' || !Number.isFinite(rank)) throw invalid();
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) throw invalid();
  if (wire.length === 3) return { order, cursor: { rank, position }, group: undefined };
  if ((key !== 'room_id' && key !== 'sender') || typeof value !== 'string') throw invalid();
  return { order, cursor: { rank, position }, group: { key, value } };
}
