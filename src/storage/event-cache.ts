import type { StoredEvent } from '../rooms/index.js';

/** Events a cache holds unless told otherwise: a few thousand rooms' worth of recent traffic and state. */
export const DEFAULT_EVENT_CACHE_SIZE = 20_000;

/**
 * The most recently read events by id, shared by every reader of one process. A stored event hardly
 * changes (redactions and relations are other rows, applied when served): only an outlier that is later
 * backfilled moves onto the timeline, and the room store drops it here once that commits. Another
 * process may keep its outlier copy for a while; it then reads that event as outside the timeline (an
 * /event of it answers M_NOT_FOUND) until the entry ages out. Only committed rows go in: readers inside
 * a write transaction do not fill it, so a rolled-back event can never be served. They do take timeline
 * events from it (an outlier there may be moving onto the timeline in a transaction of their own).
 */
export class EventCache {
  readonly #events = new Map<string, StoredEvent>();

  constructor(private readonly maxEvents: number) {}

  get size(): number {
    return this.#events.size;
  }

  /** The cached event, refreshed as the most recently used. */
  get(eventId: string): StoredEvent | undefined {
    const event = this.#events.get(eventId);
    if (event !== undefined) {
      this.#events.delete(eventId);
      this.#events.set(eventId, event);
    }
    return event;
  }

  delete(eventId: string): void {
    this.#events.delete(eventId);
  }

  set(event: StoredEvent): void {
    const id = event.event.eventId;
    this.#events.delete(id);
    this.#events.set(id, event);
    if (this.#events.size > this.maxEvents) {
      // The oldest entry is the first in the map's insertion order.
      const oldest = this.#events.keys().next();
      if (!oldest.done) this.#events.delete(oldest.value);
    }
  }
}
