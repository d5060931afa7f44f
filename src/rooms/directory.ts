import { MatrixError, parseRoomId, parseThirdPartyInstanceId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Caller } from './client-rooms.js';
import type { PublishedRoom, RoomDirectoryStore } from './ports.js';
import { maySendState, type PowerReads } from './room-power.js';

/**
 * The published room directory (client-server API, "Published room directory"): which rooms this server
 * lists, and the list itself, filtered and paged. Beside the main list, each application service keeps a
 * list per network it bridges ("Application service room directory management"), which /publicRooms shows
 * for that network's third_party_instance_id, or with every other list for include_all_networks.
 */

export type DirectoryVisibility = 'public' | 'private';

/** A room as /publicRooms lists it (PublishedRoomsChunk). */
export type PublicRoomChunk = {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  join_rule?: string;
  room_type?: string;
};

export interface PublicRoomsPage {
  readonly chunk: PublicRoomChunk[];
  readonly next_batch?: string;
  readonly prev_batch?: string;
  readonly total_room_count_estimate: number;
}

export interface PublicRoomsQuery {
  readonly limit?: number;
  readonly since?: string;
  readonly server?: string;
  readonly searchTerm?: string;
  /** Room types to list; null stands for rooms without a type. Absent: every type. */
  readonly roomTypes?: ReadonlyArray<string | null>;
  readonly includeAllNetworks?: boolean;
  readonly thirdPartyInstanceId?: string;
}

/** The state a directory entry is made of. */
export const ENTRY_TYPES = [
  'm.room.create',
  'm.room.name',
  'm.room.topic',
  'm.room.canonical_alias',
  'm.room.avatar',
  'm.room.join_rules',
  'm.room.history_visibility',
  'm.room.guest_access',
] as const;

/** One network's room list: the network `networkId` of the application service `appserviceId`. */
export interface NetworkList {
  readonly appserviceId: string;
  readonly networkId: string;
}

/** Application services' room lists, beside the main list of RoomDirectoryStore. */
export interface NetworkDirectoryStore {
  setNetworkListed(list: NetworkList, roomId: string, listed: boolean, nowMs: number): Promise<void>;
  /** The rooms one network lists (every network's when null), as RoomDirectoryStore.publishedRooms gives the main list's. */
  networkRooms(types: readonly string[], list: NetworkList | null): Promise<PublishedRoom[]>;
}

/** Rooms a visitor could enter or read: a published invite-only room is left out of the list, as Synapse does. */
const LISTED_JOIN_RULES = new Set(['public', 'knock', 'knock_restricted']);

export interface RoomDirectoryDeps {
  readonly directory: RoomDirectoryStore;
  readonly store: PowerReads;
  readonly isServerAdmin: (userId: string) => Promise<boolean>;
  readonly serverName: string;
  readonly clock: Clock;
  /** Application services' room lists; absent: there are none (a network's list is empty). */
  readonly networks?: NetworkDirectoryStore;
  /** Another server's directory, over federation (directory-federation.ts); absent: M_FORBIDDEN. */
  readonly remote?: (server: string, query: PublicRoomsQuery) => Promise<PublicRoomsPage>;
}

export function createRoomDirectory(deps: RoomDirectoryDeps) {
  const { directory, store, serverName } = deps;

  async function heldRoom(value: string): Promise<string> {
    const roomId = parseRoomId(value);
    if (!(await store.room(roomId))) throw new MatrixError('M_NOT_FOUND', `There is no room ${roomId} on this server`);
    return roomId;
  }

  /** The rooms of the list the query asks for, before filtering. */
  async function listedRooms(query: PublicRoomsQuery): Promise<PublishedRoom[]> {
    if (query.thirdPartyInstanceId !== undefined) {
      if (query.includeAllNetworks) {
        throw new MatrixError('M_INVALID_PARAM', 'Give either third_party_instance_id (one network) or include_all_networks (every network), not both');
      }
      const list = parseThirdPartyInstanceId(query.thirdPartyInstanceId);
      if (list === undefined) {
        throw new MatrixError('M_INVALID_PARAM', 'third_party_instance_id must be an instance_id from GET /thirdparty/protocols');
      }
      return deps.networks === undefined ? [] : deps.networks.networkRooms(ENTRY_TYPES, list);
    }
    const main = await directory.publishedRooms(ENTRY_TYPES);
    if (!query.includeAllNetworks || deps.networks === undefined) return main;
    const seen = new Set(main.map((room) => room.roomId));
    const bridged = await deps.networks.networkRooms(ENTRY_TYPES, null);
    return [...main, ...bridged.filter((room) => !seen.has(room.roomId))];
  }

  return {
    /** GET /directory/list/room/{roomId}. */
    async visibility(roomIdValue: string): Promise<DirectoryVisibility> {
      return (await directory.isPublished(await heldRoom(roomIdValue))) ? 'public' : 'private';
    },

    /**
     * PUT /directory/list/room/{roomId}: a server admin, or a member with the power to set the room's
     * canonical alias (Synapse's rule), publishes or hides the room.
     */
    async setVisibility(caller: Caller, roomIdValue: string, visibility: DirectoryVisibility): Promise<void> {
      const roomId = await heldRoom(roomIdValue);
      const allowed = (await deps.isServerAdmin(caller.userId)) || (await maySendState(store, roomId, caller.userId, 'm.room.canonical_alias'));
      if (!allowed) {
        throw new MatrixError('M_FORBIDDEN', 'Only a member who may set the room\'s canonical alias can change its directory listing');
      }
      await directory.setPublished(roomId, visibility === 'public', deps.clock.now());
    },

    /**
     * PUT and DELETE /directory/list/appservice/{networkId}/{roomId}: the application service lists the
     * room under one of its networks, or takes it off. The network need not be one of its protocols (the
     * spec leaves that to the service), and being in the room is not asked, as Synapse does not.
     */
    async setNetworkVisibility(appserviceId: string, networkId: string, roomIdValue: string, visibility: DirectoryVisibility): Promise<void> {
      const roomId = await heldRoom(roomIdValue);
      if (deps.networks === undefined) throw new MatrixError('M_UNRECOGNIZED', 'This server keeps no room lists for application services');
      await deps.networks.setNetworkListed({ appserviceId, networkId }, roomId, visibility === 'public', deps.clock.now());
    },

    /** GET and POST /publicRooms: published rooms, most joined members first, then by room id. */
    async publicRooms(query: PublicRoomsQuery): Promise<PublicRoomsPage> {
      if (query.server !== undefined && query.server !== serverName) {
        if (deps.remote === undefined) {
          throw new MatrixError('M_FORBIDDEN', `The room directory of ${query.server} needs federation, which is off on this server`);
        }
        return deps.remote(query.server, query);
      }
      const offset = offsetOf(query.since);
      const term = query.searchTerm?.trim().toLowerCase() ?? '';
      const entries = (await listedRooms(query))
        .map(chunkOf)
        .filter((entry) => entry.world_readable || LISTED_JOIN_RULES.has(entry.join_rule ?? 'public'))
        .filter((entry) => query.roomTypes === undefined || query.roomTypes.includes(entry.room_type ?? null))
        .filter((entry) => term === '' || [entry.name, entry.topic, entry.canonical_alias].some((text) => text?.toLowerCase().includes(term)))
        .sort((a, b) => b.num_joined_members - a.num_joined_members || (a.room_id < b.room_id ? -1 : a.room_id > b.room_id ? 1 : 0));

      const limit = query.limit ?? entries.length;
      const chunk = entries.slice(offset, offset + limit);
      return {
        chunk,
        ...(offset + limit < entries.length ? { next_batch: tokenOf(offset + limit) } : {}),
        ...(offset > 0 ? { prev_batch: tokenOf(Math.max(0, offset - limit)) } : {}),
        total_room_count_estimate: entries.length,
      };
    },
  };
}

export type RoomDirectory = ReturnType<typeof createRoomDirectory>;

/** Page tokens are offsets into the ordered list: `o20` starts at the 21st room, whichever way it was reached. */
function tokenOf(offset: number): string {
  return `o${offset}`;
}

function offsetOf(since: string | undefined): number {
  if (since === undefined || since === '') return 0;
  const match = /^o([0-9]{1,9})$/.exec(since);
  if (!match) throw new MatrixError('M_INVALID_PARAM', 'since must be a next_batch or prev_batch token from an earlier /publicRooms reply');
  return Number(match[1]);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The plain-text topic: the m.topic text/plain block when the event has m.topic, else the topic string. */
function plainTopic(content: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const blocks = content?.['m.topic'];
  if (Array.isArray(blocks)) {
    for (const block of blocks as unknown[]) {
      if (typeof block !== 'object' || block === null) continue;
      const { mimetype, body } = block as { mimetype?: unknown; body?: unknown };
      if ((mimetype === undefined || mimetype === 'text/plain') && typeof body === 'string') return text(body);
    }
    return undefined;
  }
  return text(content?.topic);
}

/** A room's directory entry from its current state (also the base of a space hierarchy's room summaries). */
export function chunkOf(room: PublishedRoom): PublicRoomChunk {
  const state = (type: (typeof ENTRY_TYPES)[number]) => room.state.get(type);
  const name = text(state('m.room.name')?.name);
  const topic = plainTopic(state('m.room.topic'));
  const alias = text(state('m.room.canonical_alias')?.alias);
  const avatar = text(state('m.room.avatar')?.url);
  const joinRule = text(state('m.room.join_rules')?.join_rule);
  const roomType = text(state('m.room.create')?.type);
  return {
    room_id: room.roomId,
    num_joined_members: room.joinedMembers,
    world_readable: state('m.room.history_visibility')?.history_visibility === 'world_readable',
    guest_can_join: state('m.room.guest_access')?.guest_access === 'can_join',
    ...(name === undefined ? {} : { name }),
    ...(topic === undefined ? {} : { topic }),
    ...(alias === undefined ? {} : { canonical_alias: alias }),
    ...(avatar === undefined ? {} : { avatar_url: avatar }),
    ...(joinRule === undefined ? {} : { join_rule: joinRule }),
    ...(roomType === undefined ? {} : { room_type: roomType }),
  };
}
