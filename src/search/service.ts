import { stateKey, type StateMap } from '../events/index.js';
import type { Clock } from '../platform/clock.js';
import { MatrixError } from '../protocol/index.js';
import {
  createClientEvents,
  createVisibility,
  parseRoomEventFilter,
  type Caller,
  type ClientEvent,
  type ErasedUsers,
  type RoomEventFilter,
  type StoredEvent,
} from '../rooms/index.js';
import { formatBatchToken, parseBatchToken, type BatchToken, type GroupKey, type SearchOrder } from './batch-token.js';
import { createContextReader, type ResultContext } from './context.js';
import { groupResults, type GroupValue } from './groups.js';
import type { RoomScope, SearchCursor, SearchHit, SearchRoomReads, SearchScope, SearchStore } from './ports.js';

/**
 * Server-side search (client-server API, "Server Side Search"), the room_events category: full-text
 * search over the rooms the user is in or has left (up to their leaving), returning only events they may
 * see, never redacted ones, served as every other read serves events.
 */

export type SearchKey = 'content.body' | 'content.name' | 'content.topic';

/** The room_events criteria, as the request gives them (wire names). */
export interface RoomEventsCriteria {
  readonly search_term: string;
  readonly keys?: readonly SearchKey[];
  readonly filter?: Readonly<Record<string, unknown>> & {
    readonly limit?: number;
    readonly rooms?: readonly string[];
    readonly not_rooms?: readonly string[];
    readonly senders?: readonly string[];
    readonly not_senders?: readonly string[];
  };
  readonly order_by?: SearchOrder;
  readonly event_context?: { readonly before_limit?: number; readonly after_limit?: number; readonly include_profile?: boolean };
  readonly include_state?: boolean;
  readonly groupings?: { readonly group_by?: ReadonlyArray<{ readonly key: GroupKey }> };
}

export interface SearchResult {
  readonly rank: number;
  readonly result: ClientEvent;
  readonly context?: ResultContext;
}

export interface RoomEventsResults {
  readonly count: number;
  readonly highlights: string[];
  readonly results: SearchResult[];
  readonly next_batch?: string;
  readonly groups?: Record<string, Record<string, GroupValue>>;
  readonly state?: Record<string, ClientEvent[]>;
}

export interface SearchDeps {
  readonly search: SearchStore;
  readonly store: SearchRoomReads;
  readonly clock: Clock;
  /** Erased accounts, whose events are served redacted to who was not in the room then (src/rooms/erasure.ts). */
  readonly erased?: ErasedUsers;
}

const TYPE_OF_KEY: Readonly<Record<SearchKey, string>> = {
  'content.body': 'm.room.message',
  'content.name': 'm.room.name',
  'content.topic': 'm.room.topic',
};
const ALL_KEYS = Object.keys(TYPE_OF_KEY) as SearchKey[];
/** The most results one page returns, whatever the filter's limit asks (each may carry a context). */
export const MAX_SEARCH_LIMIT = 100;
/** Batches read for one page before giving what was found (and a token to go on). */
const MAX_ROUNDS = 5;

function clamp(value: number | undefined, fallback: number, max: number): number {
  return Math.min(Math.max(Math.trunc(value ?? fallback), 0), max);
}

export function createSearchService(deps: SearchDeps) {
  const { search, store } = deps;
  const visibility = createVisibility({ store });
  const clientEvents = createClientEvents({ store, clock: deps.clock, ...(deps.erased ? { erased: deps.erased } : {}) });
  const contexts = createContextReader({ store, visibility, clientEvents });

  /** Rooms the user is in, and those they left or were banned from (up to then), minus forgotten ones. */
  async function searchableRooms(userId: string): Promise<RoomScope[]> {
    const [joined, left, banned, forgotten] = await Promise.all([
      store.roomsWithMembership(userId, 'join'),
      store.roomsWithMembership(userId, 'leave'),
      store.roomsWithMembership(userId, 'ban'),
      store.forgottenRooms(userId),
    ]);
    const scopes: RoomScope[] = joined.map((roomId) => ({ roomId, upTo: undefined }));
    const gone = new Set(forgotten);
    const key = stateKey('m.room.member', userId);
    for (const roomId of [...left, ...banned]) {
      if (gone.has(roomId)) continue;
      const id = (await store.currentStateEntries(roomId, [key])).get(key);
      const position = id === undefined ? undefined : (await store.events([id])).get(id)?.streamPosition;
      if (position != null) scopes.push({ roomId, upTo: position });
    }
    return scopes;
  }

  /** The hits the user may see, that the filter lets through and that no redaction applies to, served. */
  async function admit(userId: string, hits: readonly SearchHit[], filter: RoomEventFilter): Promise<Map<string, ClientEvent>> {
    const byRoom = new Map<string, SearchHit[]>();
    for (const hit of hits) {
      if (!filter.matches(hit.event)) continue;
      const list = byRoom.get(hit.event.roomId);
      if (list === undefined) byRoom.set(hit.event.roomId, [hit]);
      else list.push(hit);
    }
    const visible: SearchHit[] = [];
    for (const [roomId, list] of byRoom) {
      const ids = await visibility.visibleIds(userId, roomId, list.map((hit) => hit.event));
      visible.push(...list.filter((hit) => ids.has(hit.event.eventId)));
    }
    const [served, erased] = await Promise.all([clientEvents.serve(visible, { viewer: userId }), clientEvents.erasedFor(visible, userId)]);
    // A redacted event has lost the text that matched: it is not a result (nor one served redacted because
    // its sender's account was erased).
    return new Map(
      served.filter((event) => event.unsigned.redacted_because === undefined && !erased.has(event.event_id)).map((event) => [event.event_id, event]),
    );
  }

  async function roomState(userId: string, scope: RoomScope): Promise<ClientEvent[]> {
    let state: StateMap | undefined;
    if (scope.upTo === undefined) {
      state = await store.currentState(scope.roomId);
    } else {
      const [last] = await store.timelineEvents(scope.roomId, { dir: 'b', from: scope.upTo, limit: 1 });
      state = last && (await store.stateAfter(last.event.eventId));
    }
    const ids = [...(state ?? new Map<string, string>()).values()];
    const stored = await store.events(ids);
    return clientEvents.serve(ids.map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined), { viewer: userId });
  }

  return {
    /** POST /search. `nextBatch` is the query parameter of a follow-up request. */
    async search(caller: Caller, categories: { readonly room_events?: RoomEventsCriteria }, nextBatch?: string): Promise<RoomEventsResults> {
      const criteria = categories.room_events;
      if (criteria === undefined) {
        throw new MatrixError('M_UNKNOWN', 'Only the room_events search category is supported; give search_categories.room_events');
      }
      const order: SearchOrder = criteria.order_by ?? 'rank';
      const token: BatchToken | undefined = nextBatch === undefined ? undefined : parseBatchToken(nextBatch, order);
      const filterJson = criteria.filter ?? {};
      const filter = parseRoomEventFilter(JSON.stringify(filterJson));
      const limit = clamp(filterJson.limit, 10, MAX_SEARCH_LIMIT);

      const onlyRooms = filterJson.rooms && new Set(filterJson.rooms);
      const notRooms = new Set(filterJson.not_rooms ?? []);
      let rooms = (await searchableRooms(caller.userId)).filter((r) => (onlyRooms?.has(r.roomId) ?? true) && !notRooms.has(r.roomId));
      let senders = filterJson.senders;
      if (token?.group?.key === 'room_id') rooms = rooms.filter((r) => r.roomId === token.group?.value);
      if (token?.group?.key === 'sender') senders = [token.group.value].filter((s) => senders === undefined || senders.includes(s));
      const scope: SearchScope = {
        term: criteria.search_term,
        types: [...new Set(criteria.keys ?? ALL_KEYS)].map((key) => TYPE_OF_KEY[key]),
        rooms,
        senders,
        notSenders: filterJson.not_senders ?? [],
      };

      const results: Array<{ hit: SearchHit; event: ClientEvent }> = [];
      let cursor: SearchCursor | undefined = token?.cursor;
      let exhausted = limit === 0;
      const fetch = Math.max(limit * 2, 20);
      for (let round = 0; round < MAX_ROUNDS && results.length < limit && !exhausted; round++) {
        const batch = await search.searchEvents({ ...scope, order, after: cursor, limit: fetch });
        exhausted = batch.length < fetch;
        const admitted = await admit(caller.userId, batch, filter);
        for (const hit of batch) {
          if (results.length === limit) {
            exhausted = false;
            break;
          }
          cursor = { rank: hit.rank, position: hit.streamPosition };
          const event = admitted.get(hit.event.eventId);
          if (event !== undefined) results.push({ hit, event });
        }
      }

      const last = cursor;
      // A token from a group stays in its group; a group's own token enters it.
      const next = exhausted || last === undefined ? undefined : (group?: BatchToken['group']) =>
        formatBatchToken({ order, cursor: last, group: group ?? token?.group });
      const scopes = new Map(rooms.map((r) => [r.roomId, r]));
      const asked = criteria.event_context;
      const served: SearchResult[] = [];
      for (const { hit, event } of results) {
        const context = asked === undefined
          ? undefined
          : await contexts.contextOf(caller.userId, scopes.get(hit.event.roomId)!, hit, {
            before: clamp(asked.before_limit, 5, MAX_SEARCH_LIMIT),
            after: clamp(asked.after_limit, 5, MAX_SEARCH_LIMIT),
            includeProfile: asked.include_profile === true,
          }, filter);
        served.push({ rank: hit.rank, result: event, ...(context === undefined ? {} : { context }) });
      }

      const groupBy = (criteria.groupings?.group_by ?? []).map((g) => g.key);
      const groups = groupResults(
        groupBy,
        results.map(({ hit }) => ({ eventId: hit.event.eventId, roomId: hit.event.roomId, sender: hit.event.sender })),
        next === undefined ? undefined : (key, value) => next({ key, value }),
      );

      let state: Record<string, ClientEvent[]> | undefined;
      if (criteria.include_state === true) {
        state = {};
        for (const roomId of new Set(results.map((r) => r.hit.event.roomId))) state[roomId] = await roomState(caller.userId, scopes.get(roomId)!);
      }

      return {
        count: await search.countMatches(scope),
        highlights: [...new Set(results.flatMap((r) => r.hit.matchedWords))],
        results: served,
        ...(next === undefined ? {} : { next_batch: next() }),
        ...(groupBy.length === 0 ? {} : { groups }),
        ...(state === undefined ? {} : { state }),
      };
    },
  };
}

export type SearchService = ReturnType<typeof createSearchService>;
