import { parseStateKey, stateKey } from '../events/index.js';
import { MatrixError, parseRoomId, type StreamToken } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import {
  createClientEvents,
  createVisibility,
  historyVisibilityOf,
  type ClientEvent,
  type ErasedUsers,
  type RoomReads,
  type StoredEvent,
  type TimelineEvent,
} from '../rooms/index.js';
import type { SyncNotifier } from './notifier.js';
import type { SyncStore, SyncStreams } from './ports.js';

/**
 * What the legacy endpoints (GET /events, /initialSync, /rooms/{roomId}/initialSync) share: their
 * dependencies, the room reads they make outside /sync's snapshot, and the "now" token. Room reads go
 * to the room store, bounded by the events position read first: positions below it are committed.
 */

export type LegacyRoomReads = Pick<
  RoomReads,
  'room' | 'events' | 'currentState' | 'currentStateEntries' | 'stateAfter' | 'timelineEvents' | 'statesAround' | 'membershipHistory' | 'redactionsOf' | 'replacedStates' | 'childrenOf'
>;

export interface LegacySyncDeps {
  readonly store: SyncStore;
  readonly rooms: LegacyRoomReads;
  readonly notifier: SyncNotifier;
  readonly clock: Clock;
  /** Typing, receipts, presence; without them (some unit tests) those parts stay empty. */
  readonly streams?: Pick<SyncStreams, 'typing' | 'receipts' | 'presence'>;
  /** Whether a room is in the public directory: initialSync's `visibility`. */
  readonly directory?: { isPublished(roomId: string): Promise<boolean> };
  /** Erased accounts, whose events are served redacted to who was not in the room then (src/rooms/erasure.ts). */
  readonly erased?: ErasedUsers;
}

export function createLegacyReads(deps: LegacySyncDeps) {
  const { rooms, streams } = deps;
  const visibility = createVisibility({ store: rooms });
  const clientEvents = createClientEvents({ store: rooms, clock: deps.clock, relations: rooms, ...(deps.erased ? { erased: deps.erased } : {}) });

  async function visible<E extends StoredEvent>(userId: string, roomId: string, events: readonly E[]): Promise<E[]> {
    if (events.length === 0) return [];
    const ids = await visibility.visibleIds(userId, roomId, events.map(({ event }) => event));
    return events.filter(({ event }) => ids.has(event.eventId));
  }

  async function stateEvent(roomId: string, type: string, key: string): Promise<StoredEvent | undefined> {
    const entry = stateKey(type, key);
    const eventId = (await rooms.currentStateEntries(roomId, [entry])).get(entry);
    return eventId === undefined ? undefined : (await rooms.events([eventId])).get(eventId);
  }

  return {
    visible,
    /** Events in the v1 client format the legacy endpoints answer with (see v1Event). */
    serve: async (events: readonly StoredEvent[], viewer: string): Promise<ClientEvent[]> =>
      (await clientEvents.serve(events, { viewer })).map(v1Event),

    /** The user's current membership in the room ('leave' when none) and its member event. */
    async membership(roomId: string, userId: string): Promise<{ membership: string; event: StoredEvent | undefined }> {
      const event = await stateEvent(roomId, 'm.room.member', userId);
      const value = event?.event.content.membership;
      return { membership: typeof value === 'string' ? value : 'leave', event };
    },

    async worldReadable(roomId: string): Promise<boolean> {
      const event = await stateEvent(roomId, 'm.room.history_visibility', '');
      return historyVisibilityOf(event?.event.content) === 'world_readable';
    },

    /** A room id the server holds, or M_FORBIDDEN (the same answer as for a room the caller may not read). */
    async heldRoom(value: string): Promise<string> {
      const roomId = parseRoomId(value);
      if (!(await rooms.room(roomId))) throw new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}, and its history is not world-readable`);
      return roomId;
    },

    /** The newest `limit` events of the room at or below `upTo`, oldest first, that the user may see. */
    async lastEvents(userId: string, roomId: string, upTo: number, limit: number): Promise<TimelineEvent[]> {
      if (limit <= 0) return [];
      const newestFirst = await rooms.timelineEvents(roomId, { dir: 'b', from: upTo, limit });
      return visible(userId, roomId, [...newestFirst].reverse());
    },

    /** The state after the last timeline event at or below the position (the room's state then). */
    async stateAt(roomId: string, position: number | undefined): Promise<StoredEvent[]> {
      let ids: string[];
      if (position === undefined) {
        ids = [...(await rooms.currentState(roomId)).values()];
      } else {
        const [last] = await rooms.timelineEvents(roomId, { dir: 'b', from: position, limit: 1 });
        ids = [...((last && (await rooms.stateAfter(last.event.eventId))) ?? new Map()).values()];
      }
      const stored = await rooms.events(ids);
      return ids.map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined);
    },

    /** The user and everyone joined to the rooms: whose presence the legacy APIs carry. */
    async presenceOf(userId: string, roomIds: readonly string[]): Promise<string[]> {
      const users = new Set([userId]);
      for (const roomId of roomIds) {
        const state = await rooms.currentState(roomId);
        const members = await rooms.events([...state].filter(([key]) => parseStateKey(key)[0] === 'm.room.member').map(([, id]) => id));
        for (const { event } of members.values()) {
          if (event.content.membership === 'join' && event.stateKey !== undefined) users.add(event.stateKey);
        }
      }
      return [...users];
    },

    /** The events stream's position now (what nowToken's events would be). */
    async eventsPositionNow(): Promise<number> {
      return (await deps.store.snapshot((reads) => reads.positions())).events;
    },

    /** The composite token of every stream's position now (the event stream's starting point). */
    async nowToken(userId: string, base: StreamToken): Promise<StreamToken> {
      const positions = await deps.store.snapshot((reads) => reads.positions());
      return {
        ...base,
        events: positions.events,
        accountData: positions.accountData,
        // Streams /events does not carry: a /sync given this token starts them from now, not from scratch.
        deviceLists: positions.deviceLists,
        peeks: positions.peeks,
        ...(streams
          ? {
              typing: streams.typing.typingSince([], 0).position,
              receipts: (await streams.receipts.receiptsSince(userId, [], 0)).position,
              presence: (await streams.presence.presenceSince([], 0)).position,
            }
          : {}),
      };
    },
  };
}

export type LegacyReads = ReturnType<typeof createLegacyReads>;

/** Presence as the v1 APIs serve it: content names the user, as Synapse's does. */
export function legacyPresence(event: object): object {
  const { sender, content } = event as { sender?: string; content?: Record<string, unknown> };
  return { ...event, content: { ...content, ...(sender === undefined ? {} : { user_id: sender }) } };
}

/** The presence of users with no record yet: offline, as Synapse reports users it has not seen. */
export function offlinePresence(userId: string): object {
  return { type: 'm.presence', sender: userId, content: { presence: 'offline', user_id: userId } };
}

const V1_TOP_LEVEL = ['age', 'prev_content', 'redacted_because', 'replaces_state'] as const;

/**
 * The v1 client format (r0's "Event format" before v2 sync): the sender again as user_id, and some
 * unsigned keys also at the top level. Synapse serves /events and /initialSync so; v1 clients (and
 * sytest) read user_id.
 */
export function v1Event(event: ClientEvent): ClientEvent {
  const unsigned = event.unsigned as Readonly<Record<string, unknown>>;
  const lifted = Object.fromEntries(V1_TOP_LEVEL.filter((key) => unsigned[key] !== undefined).map((key) => [key, unsigned[key]]));
  return { ...event, user_id: event.sender, ...lifted } as ClientEvent;
}
