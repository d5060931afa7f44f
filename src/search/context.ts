import { stateKey } from '../events/index.js';
import { formatPaginationToken } from '../protocol/index.js';
import type { ClientEvent, ClientEvents, RoomEventFilter, TimelineEvent, Visibility } from '../rooms/index.js';
import type { RoomScope, SearchRoomReads } from './ports.js';

/**
 * The event_context of a search result: up to `before` and `after` events around it that the user may see
 * and the filter lets through (as /context reads them), with pagination tokens, and optionally the senders'
 * profiles from the room state at the last event returned.
 */

export interface ContextRequest {
  readonly before: number;
  readonly after: number;
  readonly includeProfile: boolean;
}

export interface Profile {
  readonly displayname?: string;
  readonly avatar_url?: string;
}

export interface ResultContext {
  readonly start: string;
  readonly end: string;
  readonly events_before: ClientEvent[];
  readonly events_after: ClientEvent[];
  readonly profile_info?: Record<string, Profile>;
}

/** Batches read on one side before giving what was found. */
const MAX_ROUNDS = 3;

export interface ContextDeps {
  readonly store: SearchRoomReads;
  readonly visibility: Pick<Visibility, 'visibleIds'>;
  readonly clientEvents: ClientEvents;
}

export function createContextReader(deps: ContextDeps) {
  const { store, visibility, clientEvents } = deps;

  /** One side of the result: events newest first ('b') or oldest first ('f'), and the token past the last read. */
  async function side(userId: string, scope: RoomScope, from: number, dir: 'b' | 'f', limit: number, filter: RoomEventFilter) {
    const events: TimelineEvent[] = [];
    let cursor = from;
    let exhausted = limit === 0;
    const fetch = Math.max(limit * 2, 10);
    for (let round = 0; round < MAX_ROUNDS && events.length < limit && !exhausted; round++) {
      const to = dir === 'f' ? scope.upTo : undefined;
      const batch = await store.timelineEvents(scope.roomId, { dir, from: cursor, limit: fetch, ...(to === undefined ? {} : { to }) });
      exhausted = batch.length < fetch;
      const visible = await visibility.visibleIds(userId, scope.roomId, batch.map((item) => item.event));
      for (const item of batch) {
        if (events.length === limit) break;
        cursor = dir === 'b' ? item.streamPosition - 1 : item.streamPosition;
        if (visible.has(item.event.eventId) && filter.matches(item.event)) events.push(item);
      }
    }
    return { events, next: cursor };
  }

  async function profiles(last: TimelineEvent, senders: ReadonlySet<string>): Promise<Record<string, Profile>> {
    const keys = [...senders].map((sender) => stateKey('m.room.member', sender));
    const after = (await store.statesAround([last.event.eventId], keys)).get(last.event.eventId)?.after ?? new Map();
    const stored = await store.events([...after.values()]);
    const info: Record<string, Profile> = {};
    for (const sender of senders) {
      const id = after.get(stateKey('m.room.member', sender));
      const content = id === undefined ? undefined : stored.get(id)?.event.content;
      if (content === undefined) continue;
      const { displayname, avatar_url: avatarUrl } = content;
      info[sender] = {
        ...(typeof displayname === 'string' ? { displayname } : {}),
        ...(typeof avatarUrl === 'string' ? { avatar_url: avatarUrl } : {}),
      };
    }
    return info;
  }

  return {
    async contextOf(userId: string, scope: RoomScope, result: TimelineEvent, request: ContextRequest, filter: RoomEventFilter): Promise<ResultContext> {
      const before = await side(userId, scope, result.streamPosition - 1, 'b', request.before, filter);
      const after = await side(userId, scope, result.streamPosition, 'f', request.after, filter);
      const [eventsBefore, eventsAfter] = await Promise.all([clientEvents.serve(before.events, { viewer: userId }), clientEvents.serve(after.events, { viewer: userId })]);
      const senders = new Set([...before.events, result, ...after.events].map((e) => e.event.sender));
      return {
        start: formatPaginationToken(before.next),
        end: formatPaginationToken(after.next),
        events_before: eventsBefore,
        events_after: eventsAfter,
        ...(request.includeProfile ? { profile_info: await profiles(after.events.at(-1) ?? result, senders) } : {}),
      };
    },
  };
}
