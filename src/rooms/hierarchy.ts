/**
 * The space hierarchy (client-server API, "Spaces"; server-server API, "Spaces"): a space's rooms, walked
 * depth first through m.space.child events, each described as the public room directory describes
 * rooms. Rooms this server has state for are read from it; others are asked of the servers the child
 * events name, over federation, and their answers kept a few minutes.
 */
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { MatrixError, parseRoomId, isServerName } from '../protocol/index.js';
import type { Caller } from './client-rooms.js';
import { chunkOf, ENTRY_TYPES, type PublicRoomChunk } from './directory.js';
import type { HierarchyStore, RoomSummaryRow, SpaceChildRow } from './ports.js';

/** A child event as hierarchies carry it: stripped state with its origin_server_ts. */
export interface ChildState {
  readonly type: 'm.space.child';
  readonly state_key: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly sender: string;
  readonly origin_server_ts: number;
}

/** A room of a hierarchy (SpaceHierarchyRoomsChunk). */
export type HierarchyRoom = PublicRoomChunk & {
  room_version?: string;
  encryption?: string;
  allowed_room_ids?: string[];
  children_state: ChildState[];
};

export interface HierarchyQuery {
  readonly suggestedOnly?: boolean;
  readonly limit?: number;
  readonly maxDepth?: number;
  readonly from?: string;
}

export interface HierarchyPage {
  readonly rooms: HierarchyRoom[];
  readonly next_batch?: string;
}

/** GET /_matrix/federation/v1/hierarchy/{roomId}'s answer. */
export interface FederationHierarchy {
  readonly room: HierarchyRoom;
  readonly children: HierarchyRoom[];
  readonly inaccessible_children: string[];
}

/** GET /room_summary's answer: a room's summary and the caller's membership, when they have one. */
export type RoomSummaryAnswer = Omit<HierarchyRoom, 'children_state'> & { membership?: string };

/** Asks a server for a room's hierarchy (GET /_matrix/federation/v1/hierarchy/{roomId}). */
export type RemoteHierarchy = (server: string, roomId: string, suggestedOnly: boolean) => Promise<unknown>;

export interface HierarchyDeps {
  readonly store: HierarchyStore;
  /** The rooms a user is joined to, for restricted rooms' allow lists. */
  readonly joinedRooms: (userId: string) => Promise<readonly string[]>;
  readonly serverName: string;
  readonly clock: Clock;
  /** Absent: rooms this server has no state for are left out. */
  readonly remote?: RemoteHierarchy;
  /** Room aliases to ids (and servers in the room), for room summaries asked by alias. */
  readonly resolveAlias?: (alias: string) => Promise<{ readonly roomId: string; readonly servers: readonly string[] }>;
  readonly log: Logger;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;
/** How deep a walk goes when the client says nothing, and at most. */
export const MAX_DEPTH = 10;
/** Rooms one request looks at, at most, however the space is shaped. */
const MAX_ROOMS_LOOKED_AT = 1_000;
/** How long another server's answer is kept (the spec asks for answers to be cached). */
const REMOTE_TTL_MS = 5 * 60_000;
/** How long a room none of whose servers answered is not asked about again. */
const FAILURE_TTL_MS = 60_000;
const MAX_REMOTE_ANSWERS = 1_000;
/** Servers of a child's via list asked in turn, at most. */
const MAX_VIA_TRIED = 3;

const SUMMARY_TYPES = [...ENTRY_TYPES, 'm.room.encryption'];
const ORDER = /^[\x20-\x7e]{1,50}$/;

/** A child event that counts: its via names at least one server (an empty via removes the child). */
function validChild(row: SpaceChildRow): boolean {
  const via = row.content.via;
  return Array.isArray(via) && via.some((server) => typeof server === 'string' && isServerName(server));
}

/** The spec's order of a space's children: by `order` (those with one first), then age, then room id. */
function compareChildren(a: ChildState, b: ChildState): number {
  const orderOf = (child: ChildState) => (typeof child.content.order === 'string' && ORDER.test(child.content.order) ? child.content.order : undefined);
  const [x, y] = [orderOf(a), orderOf(b)];
  if (x !== y) {
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return x < y ? -1 : 1;
  }
  if (a.origin_server_ts !== b.origin_server_ts) return a.origin_server_ts - b.origin_server_ts;
  return a.state_key < b.state_key ? -1 : a.state_key > b.state_key ? 1 : 0;
}

function childState(row: SpaceChildRow): ChildState {
  return { type: 'm.space.child', state_key: row.stateKey, content: row.content, sender: row.sender, origin_server_ts: row.originServerTs };
}

/** The rooms a restricted join rule admits members of. */
function allowedRooms(joinRules: Readonly<Record<string, unknown>> | undefined): string[] {
  const allow = joinRules?.allow;
  if (!Array.isArray(allow)) return [];
  return allow.flatMap((entry: unknown) => {
    const { type, room_id: roomId } = (typeof entry === 'object' && entry !== null ? entry : {}) as { type?: unknown; room_id?: unknown };
    return type === 'm.room_membership' && typeof roomId === 'string' ? [roomId] : [];
  });
}

/** A room's summary from its current state, children_state given by the caller. */
function summaryOf(row: RoomSummaryRow, children: ChildState[]): HierarchyRoom {
  const chunk = chunkOf(row);
  const encryption = row.state.get('m.room.encryption')?.algorithm;
  const allowed = allowedRooms(row.state.get('m.room.join_rules'));
  return {
    ...chunk,
    room_version: row.roomVersion,
    ...(typeof encryption === 'string' ? { encryption } : {}),
    ...(allowed.length > 0 ? { allowed_room_ids: allowed } : {}),
    children_state: chunk.room_type === 'm.space' ? children : [],
  };
}

/** Anyone may see the room's summary: it admits or reads to all (public, knockable or world-readable). */
function openToAll(room: HierarchyRoom): boolean {
  return room.world_readable || ['public', 'knock', 'knock_restricted'].includes(room.join_rule ?? '');
}

/** A summary from another server, checked for the fields every room has. */
function remoteRoom(value: unknown): HierarchyRoom | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const room = value as Record<string, unknown>;
  if (typeof room.room_id !== 'string' || typeof room.num_joined_members !== 'number' || typeof room.world_readable !== 'boolean'
    || typeof room.guest_can_join !== 'boolean') {
    return undefined;
  }
  const children = Array.isArray(room.children_state)
    ? room.children_state.filter((child: unknown): child is ChildState => {
        const c = child as Partial<ChildState> | null;
        return typeof c === 'object' && c !== null && c.type === 'm.space.child' && typeof c.state_key === 'string'
          && typeof c.content === 'object' && c.content !== null && typeof c.origin_server_ts === 'number';
      })
    : [];
  return { ...(room as unknown as HierarchyRoom), children_state: children };
}

/** Where a walk is: the room, how deep, and the servers the event naming it gave. */
interface Step {
  readonly roomId: string;
  readonly depth: number;
  readonly via: readonly string[];
}

export type SpaceHierarchy = ReturnType<typeof createSpaceHierarchy>;

export function createSpaceHierarchy(deps: HierarchyDeps) {
  const { store, serverName, clock } = deps;
  const log = deps.log.child({ component: 'hierarchy' });
  /** Other servers' answers by `suggestedOnly roomId`: the room, and its children as summaries. */
  const remoteAnswers = new Map<string, { readonly at: number; readonly answer: FederationHierarchy }>();
  /** Summaries learnt as another room's children, by room id. */
  const remoteChildren = new Map<string, { readonly at: number; readonly room: HierarchyRoom }>();
  /** Rooms another server said this server's users cannot reach from anywhere: not asked about again for a while. */
  const remoteInaccessible = new Map<string, { readonly at: number }>();
  /** Rooms none of whose via servers answered, by `suggestedOnly roomId`. */
  const remoteFailures = new Map<string, { readonly at: number }>();

  function children(rows: readonly SpaceChildRow[] | undefined, suggestedOnly: boolean): ChildState[] {
    return (rows ?? [])
      .filter((row) => validChild(row) && (!suggestedOnly || row.content.suggested === true))
      .map(childState)
      .sort(compareChildren);
  }

  /** Rooms this server has state for, summarised with their (filtered, ordered) children. */
  async function localRooms(roomIds: readonly string[], suggestedOnly: boolean): Promise<Map<string, HierarchyRoom>> {
    const summaries = await store.summaries(roomIds, SUMMARY_TYPES);
    const childRows = await store.spaceChildren([...summaries.keys()]);
    return new Map([...summaries].map(([roomId, row]) => [roomId, summaryOf(row, children(childRows.get(roomId), suggestedOnly))]));
  }

  function remember<T extends { at: number }>(map: Map<string, T>, key: string, value: T): void {
    if (map.size >= MAX_REMOTE_ANSWERS && !map.has(key)) map.delete(map.keys().next().value!);
    map.set(key, value);
  }

  /** A room's hierarchy from the first of `via` that answers, kept a while. */
  async function askRemote(roomId: string, via: readonly string[], suggestedOnly: boolean): Promise<FederationHierarchy | undefined> {
    const key = `${suggestedOnly} ${roomId}`;
    const kept = remoteAnswers.get(key);
    if (kept && clock.now() - kept.at < REMOTE_TTL_MS) return kept.answer;
    const failed = remoteFailures.get(key);
    if (!deps.remote || (failed && clock.now() - failed.at < FAILURE_TTL_MS)) return undefined;
    for (const server of via.filter((name) => name !== serverName && isServerName(name)).slice(0, MAX_VIA_TRIED)) {
      try {
        const answer = await deps.remote(server, roomId, suggestedOnly) as Partial<Record<keyof FederationHierarchy, unknown>>;
        const room = remoteRoom(answer.room);
        if (!room || room.room_id !== roomId) continue;
        const hierarchy: FederationHierarchy = {
          room,
          children: (Array.isArray(answer.children) ? answer.children : []).map(remoteRoom).filter((child): child is HierarchyRoom => child !== undefined),
          inaccessible_children: (Array.isArray(answer.inaccessible_children) ? answer.inaccessible_children : []).filter((id): id is string => typeof id === 'string'),
        };
        const now = clock.now();
        remember(remoteAnswers, key, { at: now, answer: hierarchy });
        for (const child of hierarchy.children) remember(remoteChildren, child.room_id, { at: now, room: child });
        for (const id of hierarchy.inaccessible_children) remember(remoteInaccessible, id, { at: now });
        return hierarchy;
      } catch (err) {
        log.debug({ err, server, roomId }, 'a server did not answer for a space hierarchy');
      }
    }
    // No server answered: not asked again for a minute, so a walk that meets the room does not wait on them each time.
    remember(remoteFailures, key, { at: clock.now() });
    return undefined;
  }

  /** Whether the user may see the room in a hierarchy (the spec's list), from what this server knows. */
  function userMaySee(room: HierarchyRoom, membership: string | undefined, joined: ReadonlySet<string>): boolean {
    if (membership === 'ban') return false;
    if (membership === 'join' || membership === 'invite') return true;
    if (openToAll(room)) return true;
    return ['restricted', 'knock_restricted'].includes(room.join_rule ?? '') && (room.allowed_room_ids ?? []).some((id) => joined.has(id));
  }

  /** Whether a server may see a room this server has: its users could join or peek (the server checks a restricted room's list itself). */
  function serverMaySee(room: HierarchyRoom, hasMember: boolean): boolean {
    return hasMember || openToAll(room) || room.join_rule === 'restricted';
  }

  function pageToken(offset: number, maxDepth: number, suggestedOnly: boolean): string {
    return `${offset}_${maxDepth}_${suggestedOnly ? 1 : 0}`;
  }

  return {
    /**
     * GET /_matrix/client/v1/room_summary/{roomIdOrAlias}: the room's summary for a user who may see it, or
     * for anyone (no caller) when the room is public, knockable or world-readable. A room this server has no
     * state for is asked of `via` (or the servers its alias names). M_NOT_FOUND otherwise.
     */
    async summary(caller: Caller | null, roomIdOrAlias: string, via: readonly string[]): Promise<RoomSummaryAnswer> {
      let roomId = roomIdOrAlias;
      let servers = via;
      if (roomIdOrAlias.startsWith('#')) {
        if (!deps.resolveAlias) throw new MatrixError('M_NOT_FOUND', 'Room aliases cannot be resolved here');
        const resolved = await deps.resolveAlias(roomIdOrAlias);
        roomId = resolved.roomId;
        if (servers.length === 0) servers = resolved.servers;
      } else {
        parseRoomId(roomIdOrAlias);
      }
      const notFound = (): MatrixError => new MatrixError('M_NOT_FOUND', 'No room you may see has this id or alias');
      let room = (await localRooms([roomId], false)).get(roomId);
      if (!room) room = (await askRemote(roomId, servers.length > 0 ? servers : [roomId.split(':').slice(1).join(':')], false))?.room;
      if (!room) throw notFound();
      const membership = caller === null ? undefined : (await store.memberships(caller.userId, [roomId])).get(roomId);
      const visible = caller === null
        ? openToAll(room)
        : membership === 'knock' || userMaySee(room, membership, new Set(await deps.joinedRooms(caller.userId)));
      if (!visible) throw notFound();
      const { children_state: _children, ...summary } = room;
      return { ...summary, ...(membership === undefined ? {} : { membership }) };
    },

    /** GET /_matrix/client/v1/rooms/{roomId}/hierarchy: a page of the rooms the user may see, depth first. */
    async forUser(caller: Caller, rootId: string, query: HierarchyQuery): Promise<HierarchyPage> {
      parseRoomId(rootId);
      const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
      if (limit < 1) throw new MatrixError('M_INVALID_PARAM', 'limit must be at least 1');
      if (query.maxDepth !== undefined && query.maxDepth < 0) throw new MatrixError('M_INVALID_PARAM', 'max_depth must not be negative');
      const maxDepth = Math.min(query.maxDepth ?? MAX_DEPTH, MAX_DEPTH);
      const suggestedOnly = query.suggestedOnly === true;
      let offset = 0;
      if (query.from !== undefined) {
        const match = /^([0-9]{1,6})_([0-9]{1,3})_([01])$/.exec(query.from);
        if (!match) throw new MatrixError('M_INVALID_PARAM', 'from must be a next_batch from an earlier answer');
        if (Number(match[2]) !== maxDepth || (match[3] === '1') !== suggestedOnly) {
          throw new MatrixError('M_INVALID_PARAM', 'max_depth and suggested_only must stay as they were for the first page');
        }
        offset = Number(match[1]);
      }

      const joined = new Set(await deps.joinedRooms(caller.userId));
      const found: HierarchyRoom[] = [];
      const seen = new Set<string>();
      let stack: Step[] = [{ roomId: rootId, depth: 0, via: [] }];
      // One room past the page tells whether there is a next one.
      while (stack.length > 0 && found.length <= offset + limit && seen.size < MAX_ROOMS_LOOKED_AT) {
        const step = stack.shift()!;
        if (seen.has(step.roomId)) continue;
        seen.add(step.roomId);
        const local = (await localRooms([step.roomId], suggestedOnly)).get(step.roomId);
        const membership = (await store.memberships(caller.userId, [step.roomId])).get(step.roomId);
        let room = local;
        const unreachable = remoteInaccessible.get(step.roomId);
        if (!room && !(unreachable && clock.now() - unreachable.at < REMOTE_TTL_MS)) {
          const known = remoteChildren.get(step.roomId);
          const fresh = known && clock.now() - known.at < REMOTE_TTL_MS ? known.room : undefined;
          // A child summary is enough for a room not walked into; a space whose children are wanted is asked itself.
          const needsChildren = step.depth < maxDepth && (fresh === undefined || fresh.room_type === 'm.space');
          room = needsChildren ? ((await askRemote(step.roomId, step.via, suggestedOnly))?.room ?? fresh) : fresh;
        }
        const visible = room !== undefined && userMaySee(room, membership, joined);
        if (step.depth === 0 && !visible) {
          throw new MatrixError('M_FORBIDDEN', 'You cannot see this room: it is not one you are in, were invited to, or may join or read');
        }
        if (!room || !visible) continue;
        found.push(room);
        if (step.depth >= maxDepth || room.room_type !== 'm.space') continue;
        const next = room.children_state
          .filter((child) => !seen.has(child.state_key))
          .map((child) => ({
            roomId: child.state_key,
            depth: step.depth + 1,
            via: Array.isArray(child.content.via) ? child.content.via.filter((s): s is string => typeof s === 'string') : [],
          }));
        stack = [...next, ...stack];
      }
      const rooms = found.slice(offset, offset + limit);
      const more = found.length > offset + limit || (stack.length > 0 && seen.size >= MAX_ROOMS_LOOKED_AT);
      return { rooms, ...(more ? { next_batch: pageToken(offset + limit, maxDepth, suggestedOnly) } : {}) };
    },

    /** GET /_matrix/federation/v1/hierarchy/{roomId}: the room and its children, as far as `origin`'s users may see them. */
    async forServer(origin: string, roomId: string, suggestedOnly: boolean): Promise<FederationHierarchy> {
      parseRoomId(roomId);
      const room = (await localRooms([roomId], suggestedOnly)).get(roomId);
      const notFound = (): MatrixError => new MatrixError('M_NOT_FOUND', 'This server knows no such room that your users could join or read');
      if (!room) throw notFound();
      const childIds = room.children_state.map((child) => child.state_key);
      const withServer = await store.roomsWithServer(origin, [roomId, ...childIds]);
      if (!serverMaySee(room, withServer.has(roomId))) throw notFound();
      const known = await localRooms(childIds, suggestedOnly);
      const children: HierarchyRoom[] = [];
      const inaccessible: string[] = [];
      for (const childId of childIds) {
        const child = known.get(childId);
        if (!child) continue;
        if (serverMaySee(child, withServer.has(childId))) children.push(child);
        else inaccessible.push(childId);
      }
      return { room, children, inaccessible_children: inaccessible };
    },
  };
}
