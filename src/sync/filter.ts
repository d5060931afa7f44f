import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Static } from '@sinclair/typebox';
import { Filter as FilterSchema } from '../protocol/endpoints/filters.js';
import { MatrixError } from '../protocol/index.js';
import { eventMatcher, type EventSelection } from '../rooms/index.js';

/**
 * Sync filters, normalised once per request into what the sync code asks: "does this event pass?", "how
 * many timeline events?", "lazy-load members?". Pure.
 */

type FilterJson = Static<typeof FilterSchema>;
const checkFilter = TypeCompiler.Compile(FilterSchema);

/** The spec's default timeline limit when a filter names none. */
export const DEFAULT_TIMELINE_LIMIT = 10;
/** Synapse's cap; a client asking for more gets this many and `limited`. */
export const MAX_TIMELINE_LIMIT = 1000;

export interface EventFilter {
  /** Whether an event passes (rooms are checked separately); content only matters to contains_url. */
  matches(type: string, sender: string, content?: Readonly<Record<string, unknown>>): boolean;
  readonly limit: number | undefined;
}

export interface SyncFilter {
  readonly includeLeave: boolean;
  /** Whether the room passes the room filter's rooms/not_rooms. */
  room(roomId: string): boolean;
  readonly timeline: EventFilter;
  readonly timelineLimit: number;
  readonly state: EventFilter;
  readonly lazyLoadMembers: boolean;
  /** With lazy loading: send a timeline sender's member event even when this device already has it. */
  readonly includeRedundantMembers: boolean;
  /** unread_notifications for the main timeline only, and unread_thread_notifications per thread. */
  readonly unreadThreadNotifications: boolean;
  /** event_format: 'federation' serves events as the PDUs servers exchange (prev_events, hashes...). */
  readonly eventFormat: 'client' | 'federation';
  readonly ephemeral: EventFilter;
  readonly roomAccountData: EventFilter;
  readonly accountData: EventFilter;
  readonly presence: EventFilter;
}

interface RoomsJson {
  readonly rooms?: readonly string[];
  readonly not_rooms?: readonly string[];
}

export function eventFilter(json: (EventSelection & { readonly limit?: number }) | undefined): EventFilter {
  const matches = eventMatcher(json ?? {});
  return { limit: json?.limit, matches: (type, sender, content = {}) => matches({ type, sender, content }) };
}

function roomTest(json: RoomsJson | undefined): (roomId: string) => boolean {
  const rooms = json?.rooms && new Set(json.rooms);
  const notRooms = new Set(json?.not_rooms ?? []);
  return (roomId) => (rooms === undefined || rooms.has(roomId)) && !notRooms.has(roomId);
}

/** The filter of a /sync request: the stored or inline JSON, already parsed; undefined for none. */
export function syncFilter(json: Readonly<Record<string, unknown>> | undefined): SyncFilter {
  if (json !== undefined && !checkFilter.Check(json)) {
    const first = checkFilter.Errors(json).First();
    throw new MatrixError('M_INVALID_PARAM', `The filter is not valid${first ? `: ${first.path || '/'} ${first.message}` : ''}`);
  }
  const filter = json as FilterJson | undefined;
  const room = filter?.room;
  const timelineLimit = room?.timeline?.limit;
  const inRoomFilter = roomTest(room);
  const timeline = eventFilter(room?.timeline);
  const timelineRooms = roomTest(room?.timeline);
  return {
    includeLeave: room?.include_leave === true,
    room: (roomId) => inRoomFilter(roomId) && timelineRooms(roomId),
    timeline,
    timelineLimit: Math.min(Math.max(timelineLimit ?? DEFAULT_TIMELINE_LIMIT, 0), MAX_TIMELINE_LIMIT),
    state: eventFilter(room?.state),
    lazyLoadMembers: room?.state?.lazy_load_members === true,
    includeRedundantMembers: room?.state?.include_redundant_members === true,
    // The spec puts it on the RoomEventFilter, which both state and timeline are: either one turns it on.
    unreadThreadNotifications: room?.timeline?.unread_thread_notifications === true || room?.state?.unread_thread_notifications === true,
    eventFormat: filter?.event_format === 'federation' ? 'federation' : 'client',
    ephemeral: eventFilter(room?.ephemeral),
    roomAccountData: eventFilter(room?.account_data),
    accountData: eventFilter(filter?.account_data),
    presence: eventFilter(filter?.presence),
  };
}

/** Parses the `filter` query parameter's inline form (JSON starting with '{'). */
export function parseInlineFilter(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 'The filter parameter is neither a filter id nor valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MatrixError('M_INVALID_PARAM', 'An inline filter must be a JSON object');
  }
  return value as Record<string, unknown>;
}
