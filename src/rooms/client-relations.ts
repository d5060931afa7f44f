import { formatPaginationToken, parsePaginationToken, type RoomId } from '../protocol/index.js';
import { createChildFilter } from './aggregations.js';
import type { ClientEvent } from './client-event.js';
import type { Caller } from './client-rooms.js';
import type { RoomReads, StoredEvent, TimelineEvent } from './ports.js';
import type { ClientEvents } from './redactions.js';

/**
 * GET /relations and GET /threads (client-server API, "Forming relationships between events", "Threading"):
 * a parent's children as the caller may see them, and a room's threads by latest activity.
 */

/** Direct children, or with recurse this many levels of relations (what Synapse follows; the spec asks >= 3). */
export const RECURSION_DEPTH = 3;
const RELATIONS_DEFAULT_LIMIT = 5;
const THREADS_DEFAULT_LIMIT = 20;
/** The most children or thread roots one page returns, whatever the client asks. */
export const MAX_RELATIONS_LIMIT = 100;
/** Rounds of reading for one page before giving what was found (and a token to go on). */
const MAX_ROUNDS = 5;

export interface RelationsQuery {
  readonly relType?: string;
  readonly eventType?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly dir?: 'b' | 'f';
  readonly recurse?: boolean;
}

export interface RelationsPage {
  readonly chunk: ClientEvent[];
  readonly next_batch?: string;
  readonly prev_batch?: string;
  readonly recursion_depth?: number;
}

export interface ThreadsQuery {
  readonly include?: 'all' | 'participated';
  readonly from?: string;
  readonly limit?: number;
}

export interface ThreadsPage {
  readonly chunk: ClientEvent[];
  readonly next_batch?: string;
}

export type RelationsStore = Pick<
  RoomReads,
  'relationsOf' | 'threadRoots' | 'childrenOf' | 'eventsStreamPosition' | 'events' | 'statesAround' | 'membershipHistory'
>;

export interface ClientRelationsDeps {
  readonly store: RelationsStore;
  readonly clientEvents: ClientEvents;
  /** The room, readable by the caller up to `upTo` (M_FORBIDDEN otherwise): client-history.ts decides. */
  readonly access: (caller: Caller, roomId: string) => Promise<{ readonly roomId: RoomId; readonly upTo: number | undefined }>;
  /** A served event of the room the caller may see, or M_NOT_FOUND. */
  readonly visibleEvent: (caller: Caller, roomId: RoomId, eventId: string) => Promise<TimelineEvent>;
  /** Whether the caller may see each event (all of the room). */
  readonly visibleIds: (userId: string, roomId: string, events: ReadonlyArray<StoredEvent['event']>) => Promise<Set<string>>;
}

function limitOf(asked: number | undefined, fallback: number): number {
  return Math.min(Math.max(Math.trunc(asked ?? fallback), 1), MAX_RELATIONS_LIMIT);
}

export function createClientRelations(deps: ClientRelationsDeps) {
  const { store, clientEvents } = deps;
  const usable = createChildFilter({ store, redactedIds: clientEvents.redactedIds });

  return {
    /** GET /v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]. */
    async relations(caller: Caller, roomId: string, eventId: string, query: RelationsQuery): Promise<RelationsPage> {
      const accessed = await deps.access(caller, roomId);
      const asked = query.from === undefined ? undefined : parsePaginationToken(query.from);
      const askedTo = query.to === undefined ? undefined : parsePaginationToken(query.to);
      const parent = await deps.visibleEvent(caller, accessed.roomId, eventId);
      const dir = query.dir ?? 'b';
      const limit = limitOf(query.limit, RELATIONS_DEFAULT_LIMIT);
      const cap = (position: number) => (accessed.upTo === undefined ? position : Math.min(position, accessed.upTo));
      let cursor = dir === 'b' ? cap(asked ?? (await store.eventsStreamPosition())) : (asked ?? 0);
      const to = dir === 'f' && accessed.upTo !== undefined ? Math.min(askedTo ?? accessed.upTo, accessed.upTo) : askedTo;
      const depth = query.recurse === true ? RECURSION_DEPTH : 1;
      const fetch = Math.max(limit * 2, 20);
      const events: TimelineEvent[] = [];
      let exhausted = false;
      for (let round = 0; round < MAX_ROUNDS && events.length < limit && !exhausted; round++) {
        const batch = await store.relationsOf(accessed.roomId, parent.event.eventId, {
          dir, from: cursor, limit: fetch, depth,
          ...(to === undefined ? {} : { to }),
          ...(query.relType === undefined ? {} : { relType: query.relType }),
          ...(query.eventType === undefined ? {} : { eventType: query.eventType }),
        });
        exhausted = batch.length < fetch;
        const kept = new Set((await usable(caller.userId, batch)).map((e) => e.event.eventId));
        for (const item of batch) {
          if (events.length === limit) {
            exhausted = false;
            break;
          }
          cursor = dir === 'b' ? item.streamPosition - 1 : item.streamPosition;
          if (kept.has(item.event.eventId)) events.push(item);
        }
      }
      return {
        chunk: await clientEvents.serve(events, { viewer: caller.userId }),
        ...(exhausted ? {} : { next_batch: formatPaginationToken(cursor) }),
        ...(query.from === undefined ? {} : { prev_batch: query.from }),
        ...(query.recurse === undefined ? {} : { recursion_depth: depth }),
      };
    },

    /** GET /v1/rooms/{roomId}/threads: thread roots by their latest reply, newest first, with m.thread bundled. */
    async threads(caller: Caller, roomId: string, query: ThreadsQuery): Promise<ThreadsPage> {
      const accessed = await deps.access(caller, roomId);
      const asked = query.from === undefined ? undefined : parsePaginationToken(query.from);
      const limit = limitOf(query.limit, THREADS_DEFAULT_LIMIT);
      const from = asked ?? accessed.upTo ?? (await store.eventsStreamPosition());
      const capped = accessed.upTo === undefined ? from : Math.min(from, accessed.upTo);
      const roots = await store.threadRoots(accessed.roomId, {
        from: capped, limit, ...(query.include === 'participated' ? { participant: caller.userId } : {}),
      });
      const stored = await store.events(roots.map((r) => r.rootId));
      const candidates = roots
        .map((r) => stored.get(r.rootId))
        .filter((e): e is StoredEvent => e !== undefined && e.event.roomId === accessed.roomId && e.streamPosition !== null && !e.softFailed);
      const visible = await deps.visibleIds(caller.userId, accessed.roomId, candidates.map((e) => e.event));
      const shown = candidates.filter((e) => visible.has(e.event.eventId));
      const last = roots.at(-1);
      return {
        chunk: await clientEvents.serve(shown, { viewer: caller.userId }),
        ...(roots.length === limit && last ? { next_batch: formatPaginationToken(last.latestPosition - 1) } : {}),
      };
    },
  };
}

export type ClientRelations = ReturnType<typeof createClientRelations>;
