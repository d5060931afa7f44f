import type { ErasedUsers } from './erasure.js';
import { parseStateKey, stateKey, type RoomEvent, type StateMap } from '../events/index.js';
import { MatrixError, parseRoomId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { ClientEvent } from './client-event.js';
import type { Caller } from './client-rooms.js';
import type { RoomReads, StoredEvent } from './ports.js';
import { createClientEvents } from './redactions.js';
import { historyVisibilityOf } from './visibility.js';

const VISIBILITY_KEY = stateKey('m.room.history_visibility', '');

export interface ClientRoomReadsDeps {
  readonly store: Pick<
    RoomReads,
    'room' | 'currentState' | 'currentStateEntries' | 'events' | 'stateAfter' | 'roomsWithMembership' | 'redactionsOf' | 'statesAround' | 'replacedStates'
  >;
  readonly clock: Clock;
  /** Erased accounts, whose events are served redacted to who was not in the room then (src/rooms/erasure.ts). */
  readonly erased?: ErasedUsers;
}

/** A joined member's profile in the room: null where their member event has none (as Synapse answers). */
export interface RoomMember {
  readonly display_name: string | null;
  readonly avatar_url: string | null;
}

/**
 * What clients read of rooms: state, the rooms they are in, who is joined. Members read the current
 * state; a user who left reads the state as it was when they left (the spec's rule for /state); anyone
 * reads a world-readable room's current state; anyone else is refused, as is a room this server does not
 * hold. A banned user has not left but was put out: refused, as Synapse refuses them.
 */
export function createClientRoomReads(deps: ClientRoomReadsDeps) {
  const { store, clock } = deps;

  const clientEvents = createClientEvents({ store, clock, ...(deps.erased ? { erased: deps.erased } : {}) });

  async function storedOf(state: StateMap): Promise<StoredEvent[]> {
    const stored = await store.events([...state.values()]);
    return [...state.values()].map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined);
  }

  async function eventsOf(state: StateMap): Promise<RoomEvent[]> {
    return (await storedOf(state)).map((stored) => stored.event);
  }

  async function membershipEvent(roomId: string, userId: string): Promise<RoomEvent | undefined> {
    const key = stateKey('m.room.member', userId);
    const eventId = (await store.currentStateEntries(roomId, [key])).get(key);
    return eventId === undefined ? undefined : (await store.events([eventId])).get(eventId)?.event;
  }

  async function worldReadable(roomId: string): Promise<boolean> {
    const eventId = (await store.currentStateEntries(roomId, [VISIBILITY_KEY])).get(VISIBILITY_KEY);
    const content = eventId === undefined ? undefined : (await store.events([eventId])).get(eventId)?.event.content;
    return historyVisibilityOf(content) === 'world_readable';
  }

  async function visibleState(caller: Caller, value: string, joinedOnly = false): Promise<StateMap> {
    const roomId = parseRoomId(value);
    const member = (await store.room(roomId)) ? await membershipEvent(roomId, caller.userId) : undefined;
    const membership = member?.content.membership;
    if (membership === 'join') return store.currentState(roomId);
    if (!joinedOnly && member && membership === 'leave') {
      const state = await store.stateAfter(member.eventId);
      if (state) return state;
    }
    // Anyone may read a world-readable room's current state (the spec's rule for peeking; Synapse's too).
    if (!joinedOnly && (await store.room(roomId)) && (await worldReadable(roomId))) return store.currentState(roomId);
    throw new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}`);
  }

  return {
    async state(caller: Caller, roomId: string): Promise<ClientEvent[]> {
      // The room's state as a whole: without what each event replaced (which a large room would make costly).
      return clientEvents.serve(await storedOf(await visibleState(caller, roomId)), { viewer: caller.userId, prevContent: false });
    },

    /** One state entry: its content, or the whole client event; M_NOT_FOUND when the room has none. */
    async stateEvent(caller: Caller, roomId: string, type: string, key: string, format: 'content' | 'event'): Promise<Readonly<Record<string, unknown>>> {
      const eventId = (await visibleState(caller, roomId)).get(stateKey(type, key));
      const stored = eventId === undefined ? undefined : (await store.events([eventId])).get(eventId);
      if (!stored) throw new MatrixError('M_NOT_FOUND', `The room has no ${type} state with key '${key}'`);
      // Served as redacted as /state serves it: a redacted topic has no topic left.
      const [event] = await clientEvents.serve([stored], { viewer: caller.userId });
      return format === 'event' ? { ...event! } : event!.content;
    },

    joinedRooms: (caller: Caller): Promise<string[]> => store.roomsWithMembership(caller.userId, 'join'),

    /** Joined members with their profile in the room; only a joined member may ask. */
    async joinedMembers(caller: Caller, roomId: string): Promise<Record<string, RoomMember>> {
      const state = await visibleState(caller, roomId, true);
      const memberIds = new Map([...state].filter(([key]) => parseStateKey(key)[0] === 'm.room.member'));
      const joined: Record<string, RoomMember> = {};
      for (const event of await eventsOf(memberIds)) {
        if (event.content.membership !== 'join' || event.stateKey === undefined) continue;
        const { displayname, avatar_url: avatarUrl } = event.content;
        joined[event.stateKey] = {
          display_name: typeof displayname === 'string' ? displayname : null,
          avatar_url: typeof avatarUrl === 'string' ? avatarUrl : null,
        };
      }
      return joined;
    },
  };
}

export type ClientRoomReads = ReturnType<typeof createClientRoomReads>;
