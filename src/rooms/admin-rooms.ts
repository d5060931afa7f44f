import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { MatrixError, parseRoomId } from '../protocol/index.js';
import type { Requester } from '../users/index.js';
import type { AliasStore, RoomDirectoryStore } from './ports.js';

/**
 * Synapse's admin API for rooms, for server admins and the tools written for Synapse (synadm, moderation
 * bots): every room this server holds, listed, searched and sorted; one room's details and joined members;
 * and blocking a room, after which this server's users may not join, knock on or be invited to it and
 * other servers may not join it through this server (the checks are isBlocked's callers).
 */

/** A room as the store sums it up: its create facts, counts and the state its summary is made of. */
export interface AdminRoomRow {
  readonly roomId: string;
  readonly roomVersion: string;
  readonly creator: string;
  readonly stateEvents: number;
  readonly published: boolean;
  readonly joinedMembers: number;
  readonly joinedLocalMembers: number;
  /** Content of the state events of SUMMARY_TYPES (empty state key), by type. */
  readonly state: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
}

export interface RoomBlock {
  readonly blockedBy: string;
  readonly blockedTs: number;
}

export interface AdminRoomsStore {
  /** The rooms named (every room for null), summed up with the state `types`. */
  roomSummaries(roomIds: readonly string[] | null, types: readonly string[]): Promise<AdminRoomRow[]>;
  /** The users whose current membership in the room is join, in user id order. */
  joinedMembers(roomId: string): Promise<string[]>;
  /** This server's users who are joined to, invited to or knocking on the room, with that membership. */
  localMembers(roomId: string): Promise<Array<{ readonly userId: string; readonly membership: string }>>;
  roomBlock(roomId: string): Promise<RoomBlock | undefined>;
  /** Blocks the room (null: unblocks it); blocking a blocked room keeps the first block. */
  setRoomBlock(roomId: string, block: { readonly by: string; readonly ts: number } | null): Promise<void>;
}

export const SUMMARY_TYPES = [
  'm.room.create',
  'm.room.name',
  'm.room.topic',
  'm.room.avatar',
  'm.room.canonical_alias',
  'm.room.join_rules',
  'm.room.guest_access',
  'm.room.history_visibility',
  'm.room.encryption',
] as const;

/** A room in the list (GET /_synapse/admin/v1/rooms), as Synapse shows it. */
export interface AdminRoomJson {
  readonly room_id: string;
  readonly name: string | null;
  readonly canonical_alias: string | null;
  readonly joined_members: number;
  readonly joined_local_members: number;
  readonly version: string;
  readonly creator: string;
  readonly encryption: string | null;
  readonly federatable: boolean;
  readonly public: boolean;
  readonly join_rules: string | null;
  readonly guest_access: string | null;
  readonly history_visibility: string | null;
  readonly state_events: number;
  readonly room_type: string | null;
}

/** One room (GET /_synapse/admin/v1/rooms/{roomId}): the list's fields with its avatar and topic. */
export interface AdminRoomDetailsJson extends AdminRoomJson {
  readonly avatar: string | null;
  readonly topic: string | null;
}

export const ROOM_ORDERS = [
  'name',
  'canonical_alias',
  'joined_members',
  'joined_local_members',
  'version',
  'creator',
  'encryption',
  'federatable',
  'public',
  'join_rules',
  'guest_access',
  'history_visibility',
  'state_events',
] as const;
export type RoomOrder = (typeof ROOM_ORDERS)[number];

export interface AdminRoomsQuery {
  readonly from: number;
  readonly limit: number;
  readonly orderBy: string;
  readonly dir: string;
  readonly searchTerm?: string | undefined;
}

/** What a shutdown asks for (Synapse's DELETE /_synapse/admin/v1/rooms/{roomId} body). */
export interface ShutdownRequest {
  /** A local user who makes a new room the members are moved to, with `message` in it; absent: none. */
  readonly newRoomUserId?: string | undefined;
  readonly roomName?: string | undefined;
  readonly message?: string | undefined;
  readonly block?: boolean | undefined;
  /** Synapse also deletes the room's history; Hearth cannot yet, so it must be false. */
  readonly purge?: boolean | undefined;
}

export interface ShutdownResult {
  readonly kicked_users: string[];
  readonly failed_to_kick_users: string[];
  readonly local_aliases: string[];
  readonly new_room_id: string | null;
}

export const DEFAULT_SHUTDOWN_ROOM_NAME = 'Content Violation Notification';
export const DEFAULT_SHUTDOWN_MESSAGE = 'Sharing illegal content on this server is not permitted and rooms in violation will be blocked.';

/** What a shutdown does with the room and its members, as the members themselves would (client-rooms.ts). */
export interface ShutdownActions {
  leave(userId: string, roomId: string, reason: string): Promise<void>;
  join(userId: string, roomId: string): Promise<void>;
  createRoom(creator: string, name: string): Promise<string>;
  sendNotice(sender: string, roomId: string, body: string): Promise<void>;
  aliases: Pick<AliasStore, 'roomAliases' | 'deleteAlias'>;
  directory: Pick<RoomDirectoryStore, 'setPublished'>;
  isLocalUser(userId: string): Promise<boolean>;
}

export interface AdminRoomsDeps {
  readonly store: AdminRoomsStore;
  readonly isServerAdmin: (userId: string) => Promise<boolean>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Shutting rooms down; absent: DELETE is refused. */
  readonly shutdown?: ShutdownActions;
}

function text(content: Readonly<Record<string, unknown>> | undefined, key: string): string | null {
  const value = content?.[key];
  return typeof value === 'string' ? value : null;
}

export function roomJson(row: AdminRoomRow): AdminRoomDetailsJson {
  const create = row.state.get('m.room.create');
  return {
    room_id: row.roomId,
    name: text(row.state.get('m.room.name'), 'name'),
    canonical_alias: text(row.state.get('m.room.canonical_alias'), 'alias'),
    joined_members: row.joinedMembers,
    joined_local_members: row.joinedLocalMembers,
    version: row.roomVersion,
    creator: row.creator,
    encryption: text(row.state.get('m.room.encryption'), 'algorithm'),
    federatable: create?.['m.federate'] !== false,
    public: row.published,
    join_rules: text(row.state.get('m.room.join_rules'), 'join_rule'),
    guest_access: text(row.state.get('m.room.guest_access'), 'guest_access'),
    history_visibility: text(row.state.get('m.room.history_visibility'), 'history_visibility'),
    state_events: row.stateEvents,
    room_type: text(create, 'type'),
    avatar: text(row.state.get('m.room.avatar'), 'url'),
    topic: text(row.state.get('m.room.topic'), 'topic'),
  };
}

/** Orders two values of a column: absent (null) ones last, as PostgreSQL sorts NULLs ascending. */
function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  return String(a) < String(b) ? -1 : 1;
}

export function createAdminRooms(deps: AdminRoomsDeps) {
  const { store } = deps;

  async function ensureAdmin(requester: Requester): Promise<void> {
    if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
  }

  async function summaryOf(roomIdValue: string): Promise<AdminRoomRow> {
    let roomId: string;
    try {
      roomId = parseRoomId(roomIdValue);
    } catch {
      throw new MatrixError('M_INVALID_PARAM', `${roomIdValue} is not a room id`);
    }
    const [row] = await store.roomSummaries([roomId], SUMMARY_TYPES);
    if (row === undefined) throw new MatrixError('M_NOT_FOUND', `This server holds no room ${roomId}`);
    return row;
  }

  return {
    /** Whether this server's users may not join the room and other servers may not join it through this one. */
    async isBlocked(roomId: string): Promise<boolean> {
      return (await store.roomBlock(roomId)) !== undefined;
    },

    /** GET /_synapse/admin/v1/rooms: a page of the rooms, filtered by search_term, in the order asked. */
    async list(requester: Requester, query: AdminRoomsQuery) {
      await ensureAdmin(requester);
      if (!(ROOM_ORDERS as readonly string[]).includes(query.orderBy)) {
        throw new MatrixError('M_INVALID_PARAM', `order_by must be one of ${ROOM_ORDERS.join(', ')}`);
      }
      if (query.dir !== 'f' && query.dir !== 'b') throw new MatrixError('M_INVALID_PARAM', "dir must be 'f' or 'b'");
      const term = query.searchTerm?.toLowerCase();
      const rooms = (await store.roomSummaries(null, SUMMARY_TYPES))
        .map(roomJson)
        .filter((room) => term === undefined || [room.name, room.canonical_alias, room.room_id].some((field) => field?.toLowerCase().includes(term)));
      const key = query.orderBy as RoomOrder;
      rooms.sort((a, b) => compare(a[key], b[key]) || compare(a.room_id, b.room_id));
      if (query.dir === 'b') rooms.reverse();
      const page = rooms.slice(query.from, query.from + query.limit).map(({ avatar: _avatar, topic: _topic, ...room }): AdminRoomJson => room);
      const next = query.from + page.length;
      return {
        rooms: page,
        offset: query.from,
        total_rooms: rooms.length,
        ...(next < rooms.length ? { next_batch: next } : {}),
        ...(query.from > 0 ? { prev_batch: Math.max(0, query.from - query.limit) } : {}),
      };
    },

    /** GET /_synapse/admin/v1/rooms/{roomId}. */
    async room(requester: Requester, roomId: string): Promise<AdminRoomDetailsJson> {
      await ensureAdmin(requester);
      return roomJson(await summaryOf(roomId));
    },

    /** GET /_synapse/admin/v1/rooms/{roomId}/members: the joined members. */
    async members(requester: Requester, roomId: string): Promise<{ members: string[]; total: number }> {
      await ensureAdmin(requester);
      const members = await store.joinedMembers((await summaryOf(roomId)).roomId);
      return { members, total: members.length };
    },

    /** GET /_synapse/admin/v1/rooms/{roomId}/block: whether it is blocked, and by whom. Any room id, held or not. */
    async blockStatus(requester: Requester, roomIdValue: string): Promise<{ block: boolean; user_id?: string }> {
      await ensureAdmin(requester);
      const block = await store.roomBlock(parsedRoomId(roomIdValue));
      return block === undefined ? { block: false } : { block: true, user_id: block.blockedBy };
    },

    /**
     * DELETE /_synapse/admin/v1/rooms/{roomId}: shuts the room down. Every local member leaves it (invites
     * and knocks are withdrawn); with new_room_user_id they are moved to a new room of that user's where
     * `message` tells them why; its local aliases go and it leaves the directory; `block` blocks it. The
     * room's history stays: purging it (Synapse's default) is not built, so `purge` must be false.
     */
    async shutdown(requester: Requester, roomIdValue: string, request: ShutdownRequest): Promise<ShutdownResult> {
      await ensureAdmin(requester);
      const actions = deps.shutdown;
      if (actions === undefined) throw new MatrixError('M_UNRECOGNIZED', 'Shutting rooms down is not available on this server');
      if (request.purge !== false) {
        throw new MatrixError('M_INVALID_PARAM', "Hearth cannot purge a room's history yet: send \"purge\": false to shut the room down without it");
      }
      const roomId = (await summaryOf(roomIdValue)).roomId;
      if (request.newRoomUserId !== undefined && !(await actions.isLocalUser(request.newRoomUserId))) {
        throw new MatrixError('M_INVALID_PARAM', `new_room_user_id ${request.newRoomUserId} is not a user of this server`);
      }
      // Blocked first, so nobody joins while the members are being moved out.
      if (request.block) await store.setRoomBlock(roomId, { by: requester.userId, ts: deps.clock.now() });
      let newRoomId: string | null = null;
      if (request.newRoomUserId !== undefined) {
        newRoomId = await actions.createRoom(request.newRoomUserId, request.roomName ?? DEFAULT_SHUTDOWN_ROOM_NAME);
        await actions.sendNotice(request.newRoomUserId, newRoomId, request.message ?? DEFAULT_SHUTDOWN_MESSAGE);
      }
      const kicked: string[] = [];
      const failed: string[] = [];
      for (const { userId, membership } of await store.localMembers(roomId)) {
        try {
          await actions.leave(userId, roomId, 'This room has been shut down by the server admins');
          kicked.push(userId);
          if (newRoomId !== null && membership === 'join' && userId !== request.newRoomUserId) await actions.join(userId, newRoomId);
        } catch (err) {
          deps.log.warn({ err, roomId, userId }, 'room shutdown could not remove a member');
          failed.push(userId);
        }
      }
      const aliases = await actions.aliases.roomAliases(roomId);
      for (const alias of aliases) await actions.aliases.deleteAlias(alias);
      await actions.directory.setPublished(roomId, false, deps.clock.now());
      deps.log.info({ admin: requester.userId, roomId, kicked: kicked.length, failed: failed.length, block: request.block === true }, 'room shut down');
      return { kicked_users: kicked, failed_to_kick_users: failed, local_aliases: aliases, new_room_id: newRoomId };
    },

    /** PUT /_synapse/admin/v1/rooms/{roomId}/block: blocks or unblocks it; a room not held here may be blocked ahead. */
    async setBlock(requester: Requester, roomIdValue: string, block: boolean): Promise<{ block: boolean }> {
      await ensureAdmin(requester);
      await store.setRoomBlock(parsedRoomId(roomIdValue), block ? { by: requester.userId, ts: deps.clock.now() } : null);
      return { block };
    },
  };
}

function parsedRoomId(value: string): string {
  try {
    return parseRoomId(value);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', `${value} is not a room id`);
  }
}

export type AdminRooms = ReturnType<typeof createAdminRooms>;
