import { getRoomVersion, parseStateKey, redactEvent, stateKey, type PduJson, type RoomEvent, type StateKey, type StateMap } from '../events/index.js';
import { isUserId, MatrixError, parseEventId, parseRoomAlias, parseRoomId, serverNameOf, userIdServer } from '../protocol/index.js';
import { authChain } from '../state/index.js';
import type { AliasStore, MembershipChange, RoomReads, StoredEvent } from './ports.js';
import { localAliasRecord } from './aliases.js';
import type { ErasedUsers } from './erasure.js';
import { createClientEvents } from './redactions.js';
import { serverAclAllows } from './server-acl.js';
import { historyVisibilityOf, mayUserSee, type VisibilityState } from './visibility.js';

/**
 * What other servers read of the rooms this server holds (server-server API: "Retrieving events",
 * "Backfilling and retrieving missing events", "Retrieving event authorisation information",
 * /timestamp_to_event and /query/directory). Every room read names the asking server (`origin`):
 *
 * - the room's server ACL must let it in (M_FORBIDDEN otherwise);
 * - it sees an event if one of its users could (history visibility at the event, as for clients), or if
 *   the history there is world_readable;
 * - a server that has a joined member now but could not see an event gets it redacted, as Synapse serves
 *   it, so that the room's DAG stays whole and verifiable; any other server is refused (M_FORBIDDEN).
 *
 * Events go out as stored (the PDU JSON as signed), redacted where a redaction applies; rejected events
 * are never served.
 */

export type FederationRoomReads = Pick<
  RoomReads,
  'room' | 'events' | 'stateBefore' | 'currentState' | 'statesAround' | 'membershipHistory' | 'redactionsOf' | 'replacedStates' | 'eventNearTime'
>;

export interface FederationReadsDeps {
  readonly store: FederationRoomReads;
  readonly aliases: Pick<AliasStore, 'alias'>;
  readonly serverName: string;
  /** Erased accounts: their events go to other servers redacted (src/rooms/erasure.ts). */
  readonly erased?: ErasedUsers;
  /** Asks the application services covering an unknown alias (they may make it); absent: none. */
  readonly appServiceAlias?: (alias: string) => Promise<boolean>;
}

export interface MissingEventsQuery {
  readonly earliestEvents: readonly string[];
  readonly latestEvents: readonly string[];
  readonly limit?: number | undefined;
  readonly minDepth?: number | undefined;
}

/** Synapse's caps: a remote server asks for more than this only to make us work. */
export const MAX_BACKFILL_LIMIT = 100;
export const MAX_MISSING_EVENTS_LIMIT = 100;
export const DEFAULT_MISSING_EVENTS_LIMIT = 10;

const VISIBILITY_KEY = stateKey('m.room.history_visibility', '');
const ACL_KEY = stateKey('m.room.server_acl', '');

/** What a room read knows about the asking server before it looks at any event. */
interface OriginInRoom {
  readonly roomId: string;
  readonly origin: string;
  /** The member state keys of the origin's users in the current state (joined or not, ever). */
  readonly memberKeys: readonly StateKey[];
  /** The origin has a joined member in the current state. */
  readonly joined: boolean;
}

/** How an event is served to the origin. */
type Verdict = 'full' | 'redacted' | 'denied';

function serverOfUser(userId: string): string | undefined {
  return isUserId(userId) ? userIdServer(userId) : undefined;
}

function unique(ids: Iterable<string>): string[] {
  return [...new Set(ids)];
}

export function createFederationReads(deps: FederationReadsDeps) {
  const { store, serverName } = deps;
  // Serving PDUs reads no clock (no unsigned.age): only which events a redaction applies to.
  const { redactedIds } = createClientEvents({ store, clock: { now: () => 0 } });

  /** The room, if held, with the origin's standing in it; refuses an origin the server ACL denies. */
  async function enter(origin: string, roomIdValue: string): Promise<OriginInRoom> {
    const roomId = parseRoomId(roomIdValue);
    if (!(await store.room(roomId))) throw new MatrixError('M_NOT_FOUND', `Room ${roomId} is not known to this server`);
    const current = await store.currentState(roomId);
    const memberKeys = [...current.keys()].filter((key) => {
      const [type, member] = parseStateKey(key);
      return type === 'm.room.member' && serverOfUser(member) === origin;
    });
    const aclId = current.get(ACL_KEY);
    const named = memberKeys.map((key) => current.get(key) as string);
    const stored = await store.events(aclId === undefined ? named : [...named, aclId]);
    const acl = aclId === undefined ? undefined : stored.get(aclId)?.event.content;
    if (!serverAclAllows(acl, origin)) {
      throw new MatrixError('M_FORBIDDEN', `Server ${origin} is denied access to room ${roomId} by the room's server ACL`);
    }
    const joined = named.some((id) => stored.get(id)?.event.content.membership === 'join');
    return { roomId, origin, memberKeys, joined };
  }

  /**
   * For each event with stored state (outliers have none), whether the origin sees it: world_readable
   * history there, or one of its users may see it (src/rooms/visibility.ts's rules, the user's later
   * joins counting for 'shared').
   */
  async function originSees(room: OriginInRoom, events: readonly RoomEvent[]): Promise<Map<string, boolean>> {
    const seen = new Map<string, boolean>();
    if (events.length === 0) return seen;
    const users = room.memberKeys.map((key) => parseStateKey(key)[1]);
    const [states, histories] = await Promise.all([
      store.statesAround(events.map((e) => e.eventId), [VISIBILITY_KEY, ...room.memberKeys]),
      Promise.all(users.map((user) => store.membershipHistory(room.roomId, user))),
    ]);
    const named = new Set<string>();
    for (const { before, after } of states.values()) for (const state of [before, after]) for (const id of state.values()) named.add(id);
    const contents = await store.events([...named]);
    const contentOf = (state: StateMap, key: StateKey) => {
      const id = state.get(key);
      return id === undefined ? undefined : contents.get(id)?.event.content;
    };
    const stateFor = (state: StateMap, memberKey: StateKey | undefined): VisibilityState => {
      const membership = memberKey === undefined ? undefined : contentOf(state, memberKey)?.membership;
      return { visibility: historyVisibilityOf(contentOf(state, VISIBILITY_KEY)), membership: typeof membership === 'string' ? membership : undefined };
    };
    const lastJoins = histories.map(lastJoinPosition);
    for (const event of events) {
      const around = states.get(event.eventId);
      if (around === undefined || around.position === null) continue;
      const position = around.position;
      const worldReadable =
        stateFor(around.before, undefined).visibility === 'world_readable' ||
        (event.type === 'm.room.history_visibility' && event.stateKey === '' && stateFor(around.after, undefined).visibility === 'world_readable');
      const someUser = users.some((userId, i) => {
        const key = room.memberKeys[i];
        const lastJoin = lastJoins[i];
        return mayUserSee({
          userId,
          event,
          before: stateFor(around.before, key),
          after: stateFor(around.after, key),
          joinedLater: lastJoin !== undefined && lastJoin > position,
        });
      });
      seen.set(event.eventId, worldReadable || someUser);
    }
    return seen;
  }

  function verdictOf(room: OriginInRoom, seen: ReadonlyMap<string, boolean>, eventId: string): Verdict {
    const sees = seen.get(eventId);
    if (sees === true) return 'full';
    // An outlier (no stored state to judge by) goes whole to a server in the room: it is auth or state.
    if (room.joined) return sees === false ? 'redacted' : 'full';
    return 'denied';
  }

  /** The event, if this server holds it in the room and did not reject it. */
  async function eventInRoom(room: OriginInRoom, eventIdValue: string): Promise<StoredEvent> {
    const eventId = parseEventId(eventIdValue);
    const stored = (await store.events([eventId])).get(eventId);
    if (stored === undefined || stored.rejectedReason !== null || stored.event.roomId !== room.roomId) {
      throw new MatrixError('M_NOT_FOUND', `Event ${eventId} is not known in room ${room.roomId}`);
    }
    return stored;
  }

  /** Refuses unless the origin may read the room at the event; returns how the event itself is served. */
  async function atEvent(room: OriginInRoom, event: StoredEvent): Promise<Verdict> {
    const verdict = verdictOf(room, await originSees(room, [event.event]), event.event.eventId);
    if (verdict === 'denied') {
      throw new MatrixError('M_FORBIDDEN', `Server ${room.origin} is not in room ${room.roomId} and may not see its history at ${event.event.eventId}`);
    }
    return verdict;
  }

  /**
   * The PDUs in the order given, redacted where a redaction applies, `hidden` names them or, for messages
   * (not state), their sender's account was erased: a server cannot tell which of its users were in the
   * room when they were sent.
   */
  async function serve(events: readonly StoredEvent[], hidden: ReadonlySet<string> = new Set()): Promise<PduJson[]> {
    const redacted = await redactedIds(events);
    const erased = deps.erased?.any === true ? deps.erased : undefined;
    return events.map(({ event, roomVersion }) => {
      const rules = getRoomVersion(roomVersion);
      const prune = redacted.has(event.eventId) || hidden.has(event.eventId) || (event.stateKey === undefined && erased?.isErased(event.sender) === true);
      if (rules && prune) return redactEvent(event.pdu, rules);
      return event.pdu;
    });
  }

  /** Serves a walk of the room's DAG: what the origin may not see goes redacted rather than missing. */
  async function serveWalk(room: OriginInRoom, events: readonly StoredEvent[]): Promise<PduJson[]> {
    const seen = await originSees(room, events.map((e) => e.event));
    const hidden = new Set(events.filter((e) => verdictOf(room, seen, e.event.eventId) !== 'full').map((e) => e.event.eventId));
    return serve(events, hidden);
  }

  /**
   * The auth chain of the events (every event reachable through auth_events, the start events only when
   * another start reaches them), loaded a layer per read, then walked by src/state's authChain. Oldest first.
   */
  async function authChainOf(roomId: string, starts: readonly RoomEvent[]): Promise<StoredEvent[]> {
    const loaded = new Map<string, StoredEvent>();
    const asked = new Set<string>();
    let frontier = unique(starts.flatMap((e) => e.authEvents));
    while (frontier.length > 0) {
      for (const id of frontier) asked.add(id);
      const found = await store.events(frontier);
      const next: string[] = [];
      for (const id of frontier) {
        const stored = found.get(id);
        if (stored === undefined || stored.rejectedReason !== null || stored.event.roomId !== roomId) continue;
        loaded.set(id, stored);
        next.push(...stored.event.authEvents);
      }
      frontier = unique(next).filter((id) => !asked.has(id));
    }
    const startsById = new Map(starts.map((e) => [e.eventId, e]));
    const lookup = (id: string) => loaded.get(id)?.event ?? startsById.get(id);
    const chain = authChain(starts.map((e) => e.eventId), lookup);
    return [...chain]
      .map((id) => loaded.get(id))
      .filter((e): e is StoredEvent => e !== undefined)
      .sort((a, b) => a.event.depth - b.event.depth || (a.event.eventId < b.event.eventId ? -1 : 1));
  }

  /** The state before the event (what the spec calls the state "at" it) and its auth chain. */
  async function stateAt(origin: string, roomIdValue: string, eventIdValue: string) {
    const room = await enter(origin, roomIdValue);
    const target = await eventInRoom(room, eventIdValue);
    await atEvent(room, target);
    const state = await store.stateBefore(target.event.eventId);
    if (state === undefined) {
      throw new MatrixError('M_NOT_FOUND', `This server does not know the state at ${target.event.eventId}`);
    }
    const stored = await store.events([...state.values()]);
    const stateEvents = [...state.values()].map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined);
    const chain = await authChainOf(room.roomId, stateEvents.map((e) => e.event));
    return { stateEvents, chain };
  }

  /** Events of the room by id, skipping unknown, rejected and other rooms' ones. */
  async function knownInRoom(roomId: string, ids: readonly string[]): Promise<StoredEvent[]> {
    const found = await store.events(unique(ids));
    return unique(ids)
      .map((id) => found.get(id))
      .filter((e): e is StoredEvent => e !== undefined && e.rejectedReason === null && e.event.roomId === roomId);
  }

  /** Refuses a walk none of whose starting events the origin may read. */
  async function mayWalkFrom(room: OriginInRoom, starts: readonly StoredEvent[], what: string): Promise<void> {
    if (starts.length === 0) throw new MatrixError('M_NOT_FOUND', `None of the events in ${what} is known in room ${room.roomId}`);
    if (room.joined) return;
    const seen = await originSees(room, starts.map((e) => e.event));
    if (starts.every((e) => verdictOf(room, seen, e.event.eventId) === 'denied')) {
      throw new MatrixError('M_FORBIDDEN', `Server ${room.origin} is not in room ${room.roomId} and may not see its history there`);
    }
  }

  return {
    /** GET /event/{eventId}: the event as a PDU. */
    async event(origin: string, eventIdValue: string): Promise<PduJson> {
      const eventId = parseEventId(eventIdValue);
      const stored = (await store.events([eventId])).get(eventId);
      if (stored === undefined || stored.rejectedReason !== null) throw new MatrixError('M_NOT_FOUND', `Event ${eventId} is not known to this server`);
      const room = await enter(origin, stored.event.roomId);
      const verdict = await atEvent(room, stored);
      const [pdu] = await serve([stored], verdict === 'redacted' ? new Set([eventId]) : new Set());
      return pdu as PduJson;
    },

    /** GET /state/{roomId}?event_id=: the state before the event, and the auth chain of that state. */
    async state(origin: string, roomId: string, eventId: string): Promise<{ pdus: PduJson[]; authChain: PduJson[] }> {
      const { stateEvents, chain } = await stateAt(origin, roomId, eventId);
      const [pdus, authChainPdus] = await Promise.all([serve(stateEvents), serve(chain)]);
      return { pdus, authChain: authChainPdus };
    },

    /** GET /state_ids/{roomId}?event_id=: the same, as event ids. */
    async stateIds(origin: string, roomId: string, eventId: string): Promise<{ pduIds: string[]; authChainIds: string[] }> {
      const { stateEvents, chain } = await stateAt(origin, roomId, eventId);
      return { pduIds: stateEvents.map((e) => e.event.eventId), authChainIds: chain.map((e) => e.event.eventId) };
    },

    /** GET /event_auth/{roomId}/{eventId}: the event's auth chain, oldest first. */
    async eventAuth(origin: string, roomIdValue: string, eventIdValue: string): Promise<PduJson[]> {
      const room = await enter(origin, roomIdValue);
      const target = await eventInRoom(room, eventIdValue);
      await atEvent(room, target);
      return serve(await authChainOf(room.roomId, [target.event]));
    },

    /**
     * GET /backfill/{roomId}?v=&limit=: the given events and those before them, up to `limit`: a walk back
     * through prev_events that always takes the deepest event reached (newest first).
     */
    async backfill(origin: string, roomIdValue: string, from: readonly string[], limit: number): Promise<PduJson[]> {
      const room = await enter(origin, roomIdValue);
      const starts = await knownInRoom(room.roomId, from);
      // Nothing to start from in this room (unknown events, or another room's): nothing before them either,
      // as Synapse answers; a 404 would tell the asker that an event id it guessed exists elsewhere.
      if (starts.length === 0) return [];
      await mayWalkFrom(room, starts, 'v');
      const max = Math.min(Math.max(limit, 0), MAX_BACKFILL_LIMIT);
      const visited = new Set(starts.map((e) => e.event.eventId));
      const frontier = [...starts];
      const walked: StoredEvent[] = [];
      while (frontier.length > 0 && walked.length < max) {
        frontier.sort(newestLast);
        const next = frontier.pop() as StoredEvent;
        walked.push(next);
        const prevIds = next.event.prevEvents.filter((id) => !visited.has(id));
        for (const id of prevIds) visited.add(id);
        frontier.push(...(await knownInRoom(room.roomId, prevIds)));
      }
      return serveWalk(room, walked);
    },

    /**
     * POST /get_missing_events/{roomId}: a breadth-first walk of prev_events back from `latestEvents`
     * (not included), never into or past `earliestEvents` nor below `minDepth`, up to `limit`; oldest first.
     */
    async missingEvents(origin: string, roomIdValue: string, query: MissingEventsQuery): Promise<PduJson[]> {
      const room = await enter(origin, roomIdValue);
      const latest = await knownInRoom(room.roomId, query.latestEvents);
      await mayWalkFrom(room, latest, 'latest_events');
      const max = Math.min(Math.max(query.limit ?? DEFAULT_MISSING_EVENTS_LIMIT, 0), MAX_MISSING_EVENTS_LIMIT);
      const minDepth = query.minDepth ?? 0;
      const seen = new Set([...query.earliestEvents, ...latest.map((e) => e.event.eventId)]);
      let front = latest.filter((e) => !query.earliestEvents.includes(e.event.eventId));
      const found: StoredEvent[] = [];
      while (front.length > 0 && found.length < max) {
        const prevIds = unique(front.flatMap((e) => e.event.prevEvents)).filter((id) => !seen.has(id));
        for (const id of prevIds) seen.add(id);
        const next: StoredEvent[] = [];
        for (const prev of await knownInRoom(room.roomId, prevIds)) {
          if (prev.event.depth < minDepth) continue;
          if (found.length >= max) break;
          found.push(prev);
          next.push(prev);
        }
        front = next;
      }
      return serveWalk(room, found.reverse());
    },

    /** GET /timestamp_to_event/{roomId}?ts=&dir=: the served event nearest the time that the origin may see. */
    async timestampToEvent(origin: string, roomIdValue: string, ts: number, dir: 'f' | 'b'): Promise<{ event_id: string; origin_server_ts: number }> {
      const room = await enter(origin, roomIdValue);
      const found = await store.eventNearTime(room.roomId, ts, dir);
      if (found === undefined) {
        throw new MatrixError('M_NOT_FOUND', `No event ${dir === 'f' ? 'at or after' : 'at or before'} ${ts} in room ${room.roomId}`);
      }
      await atEvent(room, found);
      return { event_id: found.event.eventId, origin_server_ts: found.event.originServerTs };
    },

    /**
     * send_join's answer for a join just accepted (joins-v2.yaml): the state before it, the auth chain of the
     * join and of that state, and the servers with joined members then. With `omitMembers`, member events
     * leave the state but for the joiner's and the heroes' (when the room has no name nor canonical alias,
     * the first five joined or invited members), and the auth chain leaves out what the state holds.
     */
    async joinState(roomId: string, joinEventId: string, omitMembers: boolean): Promise<JoinState> {
      const join = await eventInRoom({ roomId, origin: '', memberKeys: [], joined: false }, joinEventId);
      const state = await store.stateBefore(join.event.eventId);
      if (state === undefined) throw new MatrixError('M_NOT_FOUND', `This server does not know the state at ${join.event.eventId}`);
      const stored = await store.events([...state.values()]);
      const stateEvents = [...state.values()].map((id) => stored.get(id)).filter((e): e is StoredEvent => e !== undefined);
      const members = stateEvents.filter((e) => e.event.type === 'm.room.member' && e.event.stateKey !== undefined);
      const servers = new Set<string>();
      for (const { event } of members) {
        const server = serverOfUser(event.stateKey as string);
        if (server !== undefined && event.content.membership === 'join') servers.add(server);
      }
      let kept = stateEvents;
      if (omitMembers) {
        const named = state.has(stateKey('m.room.name', '')) || state.has(stateKey('m.room.canonical_alias', ''));
        const heroes = named
          ? []
          : members
              .filter((e) => e.event.stateKey !== join.event.sender && ['join', 'invite'].includes(e.event.content.membership as string))
              .sort((a, b) => (a.streamPosition ?? a.event.depth) - (b.streamPosition ?? b.event.depth))
              .slice(0, 5);
        const keep = new Set([...heroes.map((e) => e.event.eventId), ...members.filter((e) => e.event.stateKey === join.event.sender).map((e) => e.event.eventId)]);
        kept = stateEvents.filter((e) => e.event.type !== 'm.room.member' || keep.has(e.event.eventId));
      }
      const keptIds = new Set(kept.map((e) => e.event.eventId));
      const chain = (await authChainOf(roomId, [join.event, ...kept.map((e) => e.event)])).filter((e) => !omitMembers || !keptIds.has(e.event.eventId));
      const [statePdus, chainPdus] = await Promise.all([serve(kept), serve(chain)]);
      return { state: statePdus, authChain: chainPdus, serversInRoom: [...servers].sort(), membersOmitted: omitMembers };
    },

    /**
     * GET /query/directory?room_alias=: one of this server's aliases, with the servers that have joined
     * members in the room (this one first, when it has any).
     */
    async resolveAlias(aliasValue: string): Promise<{ roomId: string; servers: string[] }> {
      const alias = parseRoomAlias(aliasValue);
      if (serverNameOf(alias) !== serverName) {
        throw new MatrixError('M_INVALID_PARAM', `${alias} is not an alias of this server (${serverName}); ask its own server`);
      }
      const record = await localAliasRecord(deps.aliases, alias, deps.appServiceAlias);
      if (!record) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
      return { roomId: record.roomId, servers: await residentServers(record.roomId) };
    },
  };

  /** The servers with a joined member in the room's current state: this server first, the rest sorted. */
  async function residentServers(roomId: string): Promise<string[]> {
    const current = await store.currentState(roomId);
    const memberIds = [...current].filter(([key]) => parseStateKey(key)[0] === 'm.room.member').map(([, id]) => id);
    const members = await store.events(memberIds);
    const servers = new Set<string>();
    for (const { event } of members.values()) {
      const server = event.stateKey === undefined ? undefined : serverOfUser(event.stateKey);
      if (server !== undefined && event.content.membership === 'join') servers.add(server);
    }
    const others = [...servers].filter((s) => s !== serverName).sort();
    return servers.has(serverName) ? [serverName, ...others] : others;
  }
}

export type FederationReads = ReturnType<typeof createFederationReads>;

/** What send_join answers with, before the handler names it in the wire's terms. */
export interface JoinState {
  readonly state: PduJson[];
  readonly authChain: PduJson[];
  /** The servers with a joined member before the join, sorted. */
  readonly serversInRoom: string[];
  readonly membersOmitted: boolean;
}

/** Sort order for the backfill frontier: the deepest (then latest-stored) event last, to be popped next. */
function newestLast(a: StoredEvent, b: StoredEvent): number {
  return (
    a.event.depth - b.event.depth ||
    (a.streamPosition ?? Number.MIN_SAFE_INTEGER) - (b.streamPosition ?? Number.MIN_SAFE_INTEGER) ||
    (a.event.eventId < b.event.eventId ? -1 : a.event.eventId > b.event.eventId ? 1 : 0)
  );
}

function lastJoinPosition(history: readonly MembershipChange[]): number | undefined {
  let last: number | undefined;
  for (const change of history) if (change.membership === 'join') last = change.position;
  return last;
}
