import { stateKey, type RoomEvent, type StateKey, type StateMap } from '../events/index.js';
import type { MembershipChange, RoomReads } from './ports.js';

/**
 * Room history visibility (client-server API, "Room history visibility"): which events of a room a user
 * may see, decided by the room's m.room.history_visibility and the user's membership at each event.
 */

export type HistoryVisibility = 'world_readable' | 'shared' | 'invited' | 'joined';

/** What the rules read at one point of the room's history. */
export interface VisibilityState {
  readonly visibility: HistoryVisibility;
  /** The user's membership there ('join', 'invite', 'leave' ...), undefined for none. */
  readonly membership: string | undefined;
}

/** What decides whether the user sees one event: the state before and after it, and any later join. */
export interface VisibilityInput {
  readonly userId: string;
  readonly event: Pick<RoomEvent, 'type' | 'stateKey'>;
  readonly before: VisibilityState;
  readonly after: VisibilityState;
  /** The user joined the room at some point after the event (rule 3 for 'shared'). */
  readonly joinedLater: boolean;
}

/** A missing or unknown value reads as 'shared', as the spec says. */
export function historyVisibilityOf(content: Readonly<Record<string, unknown>> | undefined): HistoryVisibility {
  const value = content?.history_visibility;
  return value === 'world_readable' || value === 'invited' || value === 'joined' ? value : 'shared';
}

function allowedBy(state: VisibilityState, joinedLater: boolean): boolean {
  if (state.visibility === 'world_readable') return true;
  if (state.membership === 'join') return true;
  if (state.visibility === 'shared' && joinedLater) return true;
  return state.membership === 'invite' && state.visibility === 'invited';
}

/**
 * The spec's rules, applied at the event. A history_visibility event, and the user's own member event, may
 * also be seen if the state after it allows it (so a user always sees their own join, and both sides of a
 * visibility change). Pure.
 */
export function mayUserSee(input: VisibilityInput): boolean {
  // A user always sees their own member events (as Synapse does): a rejected invite or a kick from a room
  // whose history they may not see must still reach them, or the room never leaves their client.
  if (input.event.type === 'm.room.member' && input.event.stateKey === input.userId) return true;
  if (allowedBy(input.before, input.joinedLater)) return true;
  const changesWhatDecides =
    (input.event.type === 'm.room.history_visibility' && input.event.stateKey === '') ||
    (input.event.type === 'm.room.member' && input.event.stateKey === input.userId);
  return changesWhatDecides && allowedBy(input.after, input.joinedLater);
}

const VISIBILITY_KEY = stateKey('m.room.history_visibility', '');

export type VisibilityReads = Pick<RoomReads, 'statesAround' | 'membershipHistory' | 'events'>;

export interface VisibilityDeps {
  readonly store: VisibilityReads;
}

/**
 * History visibility over the store: loads, for one batch of a room's events, the state around each (one
 * load per distinct state group), the contents those states name (one read) and the user's member events
 * (one read), then applies mayUserSee to each event. Events without stored state (outliers) are never
 * visible. Sync and every read of history call this before serving events.
 */
export function createVisibility(deps: VisibilityDeps) {
  const { store } = deps;

  async function visibleIds(userId: string, roomId: string, events: readonly Pick<RoomEvent, 'eventId' | 'type' | 'stateKey'>[]): Promise<Set<string>> {
    const visible = new Set<string>();
    if (events.length === 0) return visible;
    const memberKey: StateKey = stateKey('m.room.member', userId);
    const [states, history] = await Promise.all([
      store.statesAround(events.map((e) => e.eventId), [VISIBILITY_KEY, memberKey]),
      store.membershipHistory(roomId, userId),
    ]);
    const named = new Set<string>();
    for (const { before, after } of states.values()) {
      for (const state of [before, after]) for (const id of state.values()) named.add(id);
    }
    const contents = await store.events([...named]);
    const contentOf = (state: StateMap, key: StateKey) => {
      const id = state.get(key);
      return id === undefined ? undefined : contents.get(id)?.event.content;
    };
    const stateOf = (state: StateMap): VisibilityState => {
      const membership = contentOf(state, memberKey)?.membership;
      return {
        visibility: historyVisibilityOf(contentOf(state, VISIBILITY_KEY)),
        membership: typeof membership === 'string' ? membership : undefined,
      };
    };
    const lastJoin = lastJoinPosition(history);
    for (const event of events) {
      const around = states.get(event.eventId);
      if (around === undefined || around.position === null) continue;
      const joinedLater = lastJoin !== undefined && lastJoin > around.position;
      if (mayUserSee({ userId, event, before: stateOf(around.before), after: stateOf(around.after), joinedLater })) {
        visible.add(event.eventId);
      }
    }
    return visible;
  }

  return {
    /** The ids of the events (all of one room) that the user may see. */
    visibleIds,

    /** The events (all of one room) that the user may see, in the order given. */
    async filter<T extends Pick<RoomEvent, 'eventId' | 'type' | 'stateKey'>>(userId: string, roomId: string, events: readonly T[]): Promise<T[]> {
      const visible = await visibleIds(userId, roomId, events);
      return events.filter((event) => visible.has(event.eventId));
    },
  };
}

export type Visibility = ReturnType<typeof createVisibility>;

function lastJoinPosition(history: readonly MembershipChange[]): number | undefined {
  let last: number | undefined;
  for (const change of history) if (change.membership === 'join') last = change.position;
  return last;
}
