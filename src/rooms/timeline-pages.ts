import type { RoomEventFilter } from './room-event-filter.js';
import type { RoomReads, TimelineEvent } from './ports.js';
import type { Visibility } from './visibility.js';

/** The most events one /messages or /context page returns, whatever the client asks (Synapse's cap). */
export const MAX_PAGE_LIMIT = 1000;
/** Rounds of reading the timeline for one page before giving what was found (and a token to go on). */
const MAX_ROUNDS = 5;

export interface PageRequest {
  readonly userId: string;
  readonly roomId: string;
  readonly dir: 'b' | 'f';
  /** The position of the `from` token. */
  readonly from: number;
  /** The position of the `to` token, if any. */
  readonly to: number | undefined;
  readonly limit: number;
  readonly filter: RoomEventFilter;
}

export interface Page {
  readonly events: readonly TimelineEvent[];
  /** The token position after the last event read: where the next page in this direction starts. */
  readonly next: number;
  /** No event is left in this direction (within `to`): the caller omits `end`. */
  readonly exhausted: boolean;
}

export interface PagingDeps {
  readonly store: Pick<RoomReads, 'timelineEvents'>;
  readonly visibility: Pick<Visibility, 'visibleIds'>;
}

/**
 * One page of a room's timeline as the user may see it: reads ahead in batches, drops what history
 * visibility hides and what the filter refuses, and stops at `limit` events or after a few batches (an
 * empty page with a token is allowed: the client asks again). A token names the gap after the last event
 * read, so pages neither repeat nor skip an event.
 */
export async function readPage(deps: PagingDeps, request: PageRequest): Promise<Page> {
  const { dir, limit, userId, roomId } = request;
  const fetch = Math.min(Math.max(limit * 2, 20), MAX_PAGE_LIMIT);
  const events: TimelineEvent[] = [];
  let cursor = request.from;
  let exhausted = false;
  for (let round = 0; round < MAX_ROUNDS && events.length < limit && !exhausted; round++) {
    const range = { dir, from: cursor, limit: fetch, ...(request.to === undefined ? {} : { to: request.to }) };
    const batch = await deps.store.timelineEvents(roomId, range);
    exhausted = batch.length < fetch;
    const visible = await deps.visibility.visibleIds(userId, roomId, batch.map((item) => item.event));
    for (const item of batch) {
      if (events.length === limit) {
        exhausted = false;
        break;
      }
      cursor = dir === 'b' ? item.streamPosition - 1 : item.streamPosition;
      if (visible.has(item.event.eventId) && request.filter.matches(item.event)) events.push(item);
    }
  }
  return { events, next: cursor, exhausted };
}

/** The client's limit: the default when absent, never negative, at most MAX_PAGE_LIMIT. */
export function pageLimit(asked: number | undefined, fallback: number): number {
  return Math.min(Math.max(Math.trunc(asked ?? fallback), 0), MAX_PAGE_LIMIT);
}
