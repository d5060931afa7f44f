import type { ErasedUsers } from './erasure.js';
import { parseStateKey, stateKey, type StateKey, type StateMap } from '../events/index.js';
import { formatPaginationToken, MatrixError, parseEventId, parsePaginationToken, parseRoomId, type RoomId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { ClientEvent } from './client-event.js';
import type { Caller } from './client-rooms.js';
import type { RoomStore, StoredEvent, TimelineEvent } from './ports.js';
import { createClientRelations } from './client-relations.js';
import { createClientEvents } from './redactions.js';
import { parseRoomEventFilter, type RoomEventFilter } from './room-event-filter.js';
import { pageLimit, readPage } from './timeline-pages.js';
import { createVisibility, historyVisibilityOf } from './visibility.js';

export type HistoryStore = Pick<
  RoomStore,
  | 'room' | 'events' | 'currentState' | 'currentStateEntries' | 'stateAfter' | 'eventsStreamPosition' | 'timelineEvents'
  | 'statesAround' | 'membershipHistory' | 'redactionsOf' | 'replacedStates' | 'forgottenRooms' | 'eventNearTime' | 'forgetRoom'
  | 'childrenOf' | 'relationsOf' | 'threadRoots'
>;

export interface ClientHistoryDeps {
  readonly store: HistoryStore;
  readonly clock: Clock;
  /** The users in the user's m.ignored_user_list: their messages are left out of /messages and /context. */
  readonly ignoredUsers?: (userId: string) => Promise<ReadonlySet<string>>;
  /**
   * Extends a room's history backwards from other servers (src/federation/backfill.ts) by about `wanted`
   * events; true when there is more to read. Asked when a backwards page reaches the oldest event held.
   */
  readonly backfill?: (roomId: RoomId, wanted: number) => Promise<boolean>;
  /** Erased accounts, whose events are served redacted to who was not in the room then (src/rooms/erasure.ts). */
  readonly erased?: ErasedUsers;
}

export interface MessagesQuery {
  readonly dir: 'b' | 'f';
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly filter?: string;
}

export interface MessagesPage {
  readonly start: string;
  readonly end?: string;
  readonly chunk: ClientEvent[];
  readonly state?: ClientEvent[];
}

export interface EventContext {
  readonly start: string;
  readonly end: string;
  readonly events_before: ClientEvent[];
  readonly event: ClientEvent;
  readonly events_after: ClientEvent[];
  readonly state: ClientEvent[];
}

/** Who may read a room's history, and up to where. */
interface Access {
  readonly roomId: RoomId;
  /** The user left or was banned: nothing after their member event is theirs to read. */
  readonly upTo: number | undefined;
  /** Their current member event, if any. */
  readonly memberEvent: StoredEvent | undefined;
}

const VISIBILITY_KEY = stateKey('m.room.history_visibility', '');
const isMemberKey = (key: StateKey) => parseStateKey(key)[0] === 'm.room.member';

/**
 * What clients read of a room's history: /messages, /context, /event, /members, and forgetting a room.
 * Members read it all (as history visibility allows); a user who left or was banned reads up to their
 * leaving; anyone reads a world-readable room; a room the user forgot is closed to them.
 */
export function createClientHistory(deps: ClientHistoryDeps) {
  const { store } = deps;
  const visibility = createVisibility({ store });
  const clientEvents = createClientEvents({ store, clock: deps.clock, relations: store, ...(deps.erased ? { erased: deps.erased } : {}) });
  /** The request's filter, also dropping the messages (not the state events) of users the caller ignores. */
  async function eventFilter(caller: Caller, param: string | undefined): Promise<RoomEventFilter> {
    const filter = parseRoomEventFilter(param);
    const ignored = (await deps.ignoredUsers?.(caller.userId)) ?? new Set<string>();
    if (ignored.size === 0) return filter;
    return {
      ...filter,
      // readPage passes whole events: a state key marks a state event.
      matches: (event) => filter.matches(event) && (!ignored.has(event.sender) || (event as { stateKey?: string }).stateKey !== undefined),
    };
  }

  /** With the viewer, events are served with their bundled aggregations. */
  const serve = (events: readonly StoredEvent[], viewer?: string) =>
    clientEvents.serve(events, viewer === undefined ? {} : { viewer });
  /** A set of state (members, the state at an event): served without what each event replaced. */
  const serveState = (events: readonly StoredEvent[]) => clientEvents.serve(events, { prevContent: false });

  async function currentMember(roomId: string, userId: string): Promise<StoredEvent | undefined> {
    const key = stateKey('m.room.member', userId);
    const id = (await store.currentStateEntries(roomId, [key])).get(key);
    return id === undefined ? undefined : (await store.events([id])).get(id);
  }

  async function access(caller: Caller, value: string): Promise<Access> {
    const roomId = parseRoomId(value);
    const refuse = () => new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}, and its history is not world-readable`);
    if (!(await store.room(roomId))) throw refuse();
    if ((await store.forgottenRooms(caller.userId)).includes(roomId)) {
      throw new MatrixError('M_FORBIDDEN', `You have forgotten room ${roomId}; join it again to read it`);
    }
    const memberEvent = await currentMember(roomId, caller.userId);
    const membership = memberEvent?.event.content.membership;
    if (membership === 'join') return { roomId, upTo: undefined, memberEvent };
    // A user who left reads up to their leave; a banned one was put out, and reads nothing more (Synapse's rule).
    if (membership === 'leave' && memberEvent?.streamPosition != null) {
      return { roomId, upTo: memberEvent.streamPosition, memberEvent };
    }
    const visibilityId = (await store.currentStateEntries(roomId, [VISIBILITY_KEY])).get(VISIBILITY_KEY);
    const content = visibilityId === undefined ? undefined : (await store.events([visibilityId])).get(visibilityId)?.event.content;
    if (historyVisibilityOf(content) === 'world_readable') return { roomId, upTo: undefined, memberEvent };
    throw refuse();
  }

  /** The senders' member events in a state, for lazy-loading members. */
  async function membersOf(state: StateMap, senders: Iterable<string>): Promise<StoredEvent[]> {
    const ids = [...new Set(senders)].map((s) => state.get(stateKey('m.room.member', s))).filter((id): id is string => id !== undefined);
    const stored = await store.events(ids);
    return ids.map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined);
  }

  /** A served event of the room the user may see, or M_NOT_FOUND (absent and hidden look the same). */
  async function visibleEvent(caller: Caller, roomId: RoomId, value: string): Promise<TimelineEvent> {
    const eventId = parseEventId(value);
    const stored = (await store.events([eventId])).get(eventId);
    const notFound = new MatrixError('M_NOT_FOUND', `There is no event ${eventId} in room ${roomId} that you may see`);
    if (!stored || stored.event.roomId !== roomId || stored.streamPosition === null || stored.softFailed) throw notFound;
    if (!(await visibility.visibleIds(caller.userId, roomId, [stored.event])).has(eventId)) throw notFound;
    return { ...stored, streamPosition: stored.streamPosition };
  }

  function capped(accessed: Access, position: number): number {
    return accessed.upTo === undefined ? position : Math.min(position, accessed.upTo);
  }

  /** The member events of a page's senders at its first event (lazy-loading members). */
  async function lazyMembers(events: readonly TimelineEvent[]): Promise<ClientEvent[]> {
    const first = events[0]!;
    const keys = [...new Set(events.map((e) => e.event.sender))].map((s) => stateKey('m.room.member', s));
    const around = (await store.statesAround([first.event.eventId], keys)).get(first.event.eventId);
    return serveState(around ? await membersOf(around.after, events.map((e) => e.event.sender)) : []);
  }

  return {
    ...createClientRelations({ store, clientEvents, access, visibleEvent, visibleIds: visibility.visibleIds }),

    /** GET /rooms/{roomId}/messages. */
    async messages(caller: Caller, roomId: string, query: MessagesQuery): Promise<MessagesPage> {
      const accessed = await access(caller, roomId);
      const filter = await eventFilter(caller, query.filter);
      const asked = query.from === undefined ? undefined : parsePaginationToken(query.from);
      const to = query.to === undefined ? undefined : parsePaginationToken(query.to);
      // Forwards from nothing starts before the oldest event, backfilled ones (negative positions) included.
      const from = asked ?? (query.dir === 'b' ? await store.eventsStreamPosition() : Number.MIN_SAFE_INTEGER);
      const request = {
        userId: caller.userId,
        roomId: accessed.roomId,
        dir: query.dir,
        from: query.dir === 'b' ? capped(accessed, from) : from,
        to: query.dir === 'f' && accessed.upTo !== undefined ? capped(accessed, to ?? accessed.upTo) : to,
        limit: pageLimit(query.limit ?? filter.limit, 10),
        filter,
      };
      let page = await readPage({ store, visibility }, request);
      // Reaching the oldest event held, the history may go on at another server: fetch it, read again.
      if (query.dir === 'b' && to === undefined && page.exhausted && page.events.length < request.limit && deps.backfill) {
        if (await deps.backfill(accessed.roomId, request.limit - page.events.length)) page = await readPage({ store, visibility }, request);
      }
      const chunk = await serve(page.events, caller.userId);
      const state = filter.lazyLoadMembers && page.events.length > 0 ? await lazyMembers(page.events) : [];
      return {
        start: query.from ?? formatPaginationToken(from),
        chunk,
        // `end` goes only once a page comes back empty at the end of the history (as Synapse does, and
        // sytest and clients expect): a client stops paging when a page has no end, not when it is short.
        ...(page.exhausted && chunk.length === 0 ? {} : { end: formatPaginationToken(page.next) }),
        ...(state.length > 0 ? { state } : {}),
      };
    },

    /** GET /rooms/{roomId}/context/{eventId}: the event with up to `limit` visible events around it. */
    async context(caller: Caller, roomId: string, eventId: string, query: { limit?: number; filter?: string }): Promise<EventContext> {
      const accessed = await access(caller, roomId);
      const filter = await eventFilter(caller, query.filter);
      const target = await visibleEvent(caller, accessed.roomId, eventId);
      const limit = pageLimit(query.limit, 10);
      const common = { userId: caller.userId, roomId: accessed.roomId, filter };
      const before = await readPage({ store, visibility }, {
        ...common, dir: 'b', from: target.streamPosition - 1, to: undefined, limit: Math.floor(limit / 2),
      });
      const after = await readPage({ store, visibility }, {
        ...common, dir: 'f', from: target.streamPosition, to: accessed.upTo, limit: limit - Math.floor(limit / 2),
      });
      const last = after.events.at(-1) ?? target;
      const stateAt = (await store.stateAfter(last.event.eventId)) ?? new Map();
      const returned = [...before.events, target, ...after.events];
      const senders = new Set(returned.map((e) => e.event.sender));
      const stateIds = [...stateAt]
        .filter(([key]) => !filter.lazyLoadMembers || !isMemberKey(key) || senders.has(parseStateKey(key)[1]))
        .map(([, id]) => id);
      const stored = await store.events(stateIds);
      const stateEvents = stateIds.map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined && filter.matches(e.event));
      const [eventsBefore, [event], eventsAfter, state] = await Promise.all([
        serve(before.events, caller.userId), serve([target], caller.userId), serve(after.events, caller.userId), serveState(stateEvents),
      ]);
      return {
        start: formatPaginationToken(before.next),
        end: formatPaginationToken(after.next),
        events_before: eventsBefore,
        event: event!,
        events_after: eventsAfter,
        state,
      };
    },

    /** GET /rooms/{roomId}/event/{eventId}: M_NOT_FOUND when absent or hidden from the caller. */
    async event(caller: Caller, roomId: string, eventId: string): Promise<ClientEvent> {
      let accessed: Access;
      try {
        accessed = await access(caller, roomId);
      } catch (err) {
        if (err instanceof MatrixError && err.errcode === 'M_FORBIDDEN') {
          throw new MatrixError('M_NOT_FOUND', `There is no event ${eventId} in room ${roomId} that you may see`);
        }
        throw err;
      }
      const [event] = await serve([await visibleEvent(caller, accessed.roomId, eventId)], caller.userId);
      return event!;
    },

    /**
     * GET /events/{eventId} (deprecated in r0): the event by its id alone, its room looked up; M_NOT_FOUND
     * when absent or hidden from the caller, as /rooms/{roomId}/event/{eventId} answers.
     */
    async eventById(caller: Caller, eventId: string): Promise<ClientEvent> {
      const stored = (await deps.store.events([eventId])).get(eventId);
      const hidden = () => new MatrixError('M_NOT_FOUND', `There is no event ${eventId} that you may see`);
      if (stored === undefined || stored.outlier) throw hidden();
      let accessed: Access;
      try {
        accessed = await access(caller, stored.event.roomId);
      } catch (err) {
        if (err instanceof MatrixError && err.errcode === 'M_FORBIDDEN') throw hidden();
        throw err;
      }
      const [event] = await serve([await visibleEvent(caller, accessed.roomId, eventId)], caller.userId);
      return event!;
    },

    /** GET /rooms/{roomId}/members: member events of the current state, or the state at `at`, or when the caller left. */
    async members(
      caller: Caller,
      roomId: string,
      query: { at?: string; membership?: string; notMembership?: string },
    ): Promise<ClientEvent[]> {
      const accessed = await access(caller, roomId);
      const at = query.at === undefined ? undefined : capped(accessed, parsePaginationToken(query.at));
      const point = at ?? accessed.upTo;
      let state: StateMap;
      if (point === undefined) {
        state = await store.currentState(accessed.roomId);
      } else {
        const [last] = await store.timelineEvents(accessed.roomId, { dir: 'b', from: point, limit: 1 });
        state = (last && (await store.stateAfter(last.event.eventId))) ?? new Map();
      }
      const ids = [...state].filter(([key]) => isMemberKey(key)).map(([, id]) => id);
      const stored = await store.events(ids);
      // The spec joins the two parameters with "or": the membership is `membership`, or is not `not_membership`.
      const wanted = (value: unknown) =>
        (query.membership === undefined && query.notMembership === undefined) ||
        (query.membership !== undefined && value === query.membership) ||
        (query.notMembership !== undefined && value !== query.notMembership);
      return serveState(ids.map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined && wanted(e.event.content.membership)));
    },

    /** POST /rooms/{roomId}/forget: only once the caller has left (or was banned); a no-op for a stranger. */
    async forget(caller: Caller, value: string): Promise<void> {
      const roomId = parseRoomId(value);
      if (!(await store.room(roomId))) return;
      const member = await currentMember(roomId, caller.userId);
      const membership = member?.event.content.membership;
      if (member === undefined) return;
      if (membership !== 'leave' && membership !== 'ban') {
        throw new MatrixError('M_UNKNOWN', `User ${caller.userId} is in room ${roomId} (${String(membership)}); leave it before forgetting it`);
      }
      await store.forgetRoom(caller.userId, roomId, member.event.eventId);
    },

    /** GET /v1/rooms/{roomId}/timestamp_to_event: the visible event closest to `ts` in the direction. */
    async timestampToEvent(caller: Caller, roomId: string, ts: number, dir: 'f' | 'b'): Promise<{ event_id: string; origin_server_ts: number }> {
      const accessed = await access(caller, roomId);
      const found = await store.eventNearTime(accessed.roomId, ts, dir);
      const visible = found && (accessed.upTo === undefined || found.streamPosition <= accessed.upTo)
        ? (await visibility.visibleIds(caller.userId, accessed.roomId, [found.event])).has(found.event.eventId)
        : false;
      if (!found || !visible) {
        throw new MatrixError('M_NOT_FOUND', `No event you may see ${dir === 'f' ? 'at or after' : 'at or before'} ${ts} in room ${roomId}`);
      }
      return { event_id: found.event.eventId, origin_server_ts: found.event.originServerTs };
    },
  };
}

export type ClientHistory = ReturnType<typeof createClientHistory>;
