import { MatrixError } from './errors.js';

/**
 * Tokens clients hold: opaque strings to them, positions on Hearth's streams to us.
 *
 * A sync token (`next_batch`, `since`) holds one position per stream: `s` then the positions joined by `_`,
 * in STREAMS order. Streams are only ever appended to STREAMS, and a token with fewer positions reads the
 * missing ones as 0, so a client's token survives an upgrade that adds a stream (it sees that stream from
 * the start once).
 *
 * A room pagination token (`prev_batch`, `/messages` start and end) is a place on the events stream:
 * `t` then a position P, meaning "between the event at P and the next one". Paginating backwards from it
 * returns events at P and below; forwards, events above P. Where a pagination token is expected a sync
 * token is accepted too (the spec lets clients page from `next_batch`); its events position is used.
 * Events backfilled from other servers sit below every event this server saw arrive, at negative positions
 * (src/federation/backfill.ts), so a pagination token may be negative; a sync token never is.
 */

export const STREAMS = ['events', 'accountData', 'receipts', 'typing', 'toDevice', 'presence', 'deviceLists', 'peeks'] as const;
export type StreamName = (typeof STREAMS)[number];
export type StreamToken = Readonly<Record<StreamName, number>>;

export const ZERO_STREAM_TOKEN: StreamToken = Object.freeze(
  Object.fromEntries(STREAMS.map((name) => [name, 0])) as Record<StreamName, number>,
);

const POSITION = /^(0|[1-9][0-9]{0,15})$/;
const SIGNED_POSITION = /^(0|-?[1-9][0-9]{0,15})$/;

function position(text: string, token: string, pattern = POSITION): number {
  const value = pattern.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new MatrixError('M_INVALID_PARAM', `'${token}' is not a token this server gave out`);
  return value;
}

export function formatStreamToken(token: StreamToken): string {
  return `s${STREAMS.map((name) => token[name]).join('_')}`;
}

/** Parses a sync token; M_INVALID_PARAM for anything this server could not have given out. */
export function parseStreamToken(text: string): StreamToken {
  if (!text.startsWith('s')) throw new MatrixError('M_INVALID_PARAM', `'${text}' is not a sync token this server gave out`);
  const parts = text.slice(1).split('_');
  if (parts.length > STREAMS.length) throw new MatrixError('M_INVALID_PARAM', `'${text}' is not a sync token this server gave out`);
  const token: Record<StreamName, number> = { ...ZERO_STREAM_TOKEN };
  parts.forEach((part, index) => {
    token[STREAMS[index] as StreamName] = position(part, text);
  });
  return token;
}

export function formatPaginationToken(eventsPosition: number): string {
  return `t${eventsPosition}`;
}

/** The events position of a pagination token or a sync token; M_INVALID_PARAM otherwise. */
export function parsePaginationToken(text: string): number {
  if (text.startsWith('t')) return position(text.slice(1), text, SIGNED_POSITION);
  if (text.startsWith('s')) return parseStreamToken(text).events;
  throw new MatrixError('M_INVALID_PARAM', `'${text}' is not a pagination token this server gave out`);
}
