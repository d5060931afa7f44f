/**
 * What one resolution run knows: the room version's rules, the prefetched events, which of them were
 * rejected, and caches (each event's usable auth events, each sender's power level) so that no auth
 * event list is parsed or power levels content read twice.
 */
import {
  powerLevelOf,
  powerLevelsContent,
  stateKey,
  stateKeyOf,
  type AuthStateLookup,
  type PowerLevels,
  type RoomEvent,
  type RoomVersionRules,
  type StateKey,
  type StateMap,
} from '../events/index.js';
import type { EventLookup } from './auth-chain.js';

export interface ResolutionInput {
  readonly rules: RoomVersionRules;
  /** The states to resolve: (type, state_key) to event id. */
  readonly stateSets: readonly StateMap[];
  /** Every event of the sets and of their auth chains (see missingEvents). */
  readonly events: EventLookup;
  /**
   * Whether the server rejected an event. Rejected events are never in a result: they are dropped from
   * the state sets and the conflicted set, and never stand in for state during the auth checks.
   */
  readonly rejected?: (eventId: string) => boolean;
}

export type ResolutionContext = ReturnType<typeof createContext>;

export function createContext(input: ResolutionInput) {
  const { rules, events } = input;
  const rejected = input.rejected ?? (() => false);
  const authMaps = new Map<string, Map<StateKey, RoomEvent>>();
  const senderLevels = new Map<string, number>();
  const levelsCache = new Map<string, PowerLevels>();

  /** An event that may take part: known and not rejected. */
  function usable(id: string): RoomEvent | undefined {
    const event = events(id);
    return event === undefined || rejected(id) ? undefined : event;
  }

  /**
   * v12 events do not cite the create event; their room id names it ('!' + the create event id's hash).
   * Before v12 the create event is among the auth events and in the state like any other.
   */
  function createFor(event: RoomEvent): RoomEvent | undefined {
    if (rules.roomIdFormat !== 'create-event-hash') return undefined;
    return usable('$' + event.roomId.slice(1));
  }

  /** The event's auth events by (type, state_key), rejected ones left out (v2-state-res.md). */
  function authEventsOf(event: RoomEvent): Map<StateKey, RoomEvent> {
    let map = authMaps.get(event.eventId);
    if (map !== undefined) return map;
    map = new Map();
    for (const id of event.authEvents) {
      const authEvent = usable(id);
      const key = authEvent === undefined ? undefined : stateKeyOf(authEvent);
      if (authEvent !== undefined && key !== undefined && !map.has(key)) map.set(key, authEvent);
    }
    authMaps.set(event.eventId, map);
    return map;
  }

  /**
   * The lookup the iterative auth checks use for `event`: the partially resolved state first; for a key
   * it lacks, the event's own (not rejected) auth event; for v12's create event, the room id.
   */
  function checkLookup(event: RoomEvent, state: ReadonlyMap<StateKey, string>): AuthStateLookup {
    const own = authEventsOf(event);
    return (type, key) => {
      const k = stateKey(type, key);
      const id = state.get(k);
      const fromState = id === undefined ? undefined : usable(id);
      if (fromState !== undefined) return fromState;
      const fromAuth = own.get(k);
      if (fromAuth !== undefined) return fromAuth;
      return type === 'm.room.create' && key === '' ? createFor(event) : undefined;
    };
  }

  /**
   * The sender's power level "when looking at their respective auth_events" (the reverse topological
   * power ordering): from the power levels event the event cites, or the version's defaults without
   * one (the creator 100 before v12, creators infinite in v12). Rejected auth events count here: the
   * spec does not leave them out of this comparison, and neither do Synapse or ruma.
   */
  function senderPowerLevel(event: RoomEvent): number {
    const cached = senderLevels.get(event.eventId);
    if (cached !== undefined) return cached;
    let powerLevels: RoomEvent | undefined;
    let create: RoomEvent | undefined;
    for (const id of event.authEvents) {
      const authEvent = events(id);
      if (authEvent?.stateKey !== '') continue;
      if (authEvent.type === 'm.room.power_levels') powerLevels ??= authEvent;
      else if (authEvent.type === 'm.room.create') create ??= authEvent;
    }
    create ??= createFor(event);
    const cacheKey = `${powerLevels?.eventId ?? ''}\u0000${create?.eventId ?? ''}`;
    let levels = levelsCache.get(cacheKey);
    if (levels === undefined) {
      const lookup: AuthStateLookup = (type, key) => {
        if (key !== '') return undefined;
        return type === 'm.room.power_levels' ? powerLevels : type === 'm.room.create' ? create : undefined;
      };
      levels = powerLevelsContent(lookup, rules);
      levelsCache.set(cacheKey, levels);
    }
    const level = powerLevelOf(event.sender, levels);
    senderLevels.set(event.eventId, level);
    return level;
  }

  /** The m.room.power_levels event among the event's auth events, if it cites one. */
  function powerLevelsAuthOf(event: RoomEvent): RoomEvent | undefined {
    for (const id of event.authEvents) {
      const authEvent = events(id);
      if (authEvent?.type === 'm.room.power_levels' && authEvent.stateKey === '') return authEvent;
    }
    return undefined;
  }

  return { rules, events, rejected, usable, authEventsOf, checkLookup, senderPowerLevel, powerLevelsAuthOf };
}
