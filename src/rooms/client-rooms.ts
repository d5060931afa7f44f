import { stateKey } from '../events/index.js';
import {
  isMatrixError,
  MatrixError,
  parseRoomAlias,
  parseRoomId,
  parseRoomIdOrAlias,
  parseUserId,
  serverNameOf,
  userIdServer,
  type RoomId,
  type UserId,
} from '../protocol/index.js';
import type { RoomPreset } from './create-room.js';
import type { RoomReads } from './ports.js';
import type { RoomServer } from './room-server.js';

/** Who is asking: the authenticated user and device (the access token's Requester fits). */
export interface Caller {
  readonly userId: string;
  readonly deviceId: string;
}

export interface ClientCreateRoom {
  readonly visibility?: 'public' | 'private';
  readonly roomAliasName?: string;
  readonly name?: string;
  readonly topic?: string;
  readonly invite?: readonly string[];
  readonly roomVersion?: string;
  readonly creationContent?: Readonly<Record<string, unknown>>;
  readonly initialState?: ReadonlyArray<{ readonly type: string; readonly stateKey?: string; readonly content: Readonly<Record<string, unknown>> }>;
  readonly preset?: RoomPreset;
  readonly isDirect?: boolean;
  readonly powerLevelContentOverride?: Readonly<Record<string, unknown>>;
}

export interface ClientRoomWritesDeps {
  readonly rooms: RoomServer;
  readonly store: Pick<RoomReads, 'room' | 'currentStateEntries' | 'events'>;
  readonly serverName: string;
}

/**
 * What clients ask of rooms that writes: create, membership, messages and state. It parses the
 * client's identifiers, refuses what needs federation (not built yet) before any event is built, and
 * calls the room server, which decides everything the auth rules decide.
 */
export function createClientRoomWrites(deps: ClientRoomWritesDeps) {
  const { rooms, store, serverName } = deps;

  function needsFederation(what: string): never {
    throw new MatrixError('M_FORBIDDEN', `${what}, and federation is not available on this server yet`);
  }

  /** A user id of this server; one of another server needs federation. */
  function localUser(value: string): UserId {
    const userId = parseUserId(value);
    if (userIdServer(userId) !== serverName) needsFederation(`${userId} is on another server`);
    return userId;
  }

  /**
   * A room this server holds. One it does not hold is on another server (federation) or does not exist:
   * M_NOT_FOUND where the caller looks a room up (join, knock), else M_FORBIDDEN, as for a room the
   * caller is not in, so that sending cannot probe which rooms exist.
   */
  async function heldRoom(value: string, unknown: 'not-found' | 'forbidden'): Promise<RoomId> {
    const roomId = parseRoomId(value);
    if (await store.room(roomId)) return roomId;
    const server = serverNameOf(roomId);
    if (server !== undefined && server !== serverName) needsFederation(`Room ${roomId} is on another server`);
    if (unknown === 'not-found') throw new MatrixError('M_NOT_FOUND', `There is no room ${roomId} on this server`);
    throw new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}`);
  }

  /** Joining and knocking accept aliases in the path; resolving them is not built yet. */
  function roomIdOnly(value: string): string {
    const target = parseRoomIdOrAlias(value);
    if (target.startsWith('#')) {
      throw new MatrixError('M_NOT_FOUND', `Room alias ${target} cannot be resolved: this server has no room aliases yet; use the room id`);
    }
    return target;
  }

  async function createRoom(caller: Caller, request: ClientCreateRoom): Promise<string> {
    if (request.roomAliasName !== undefined) {
      throw new MatrixError('M_INVALID_PARAM', 'room aliases are not supported yet; create the room without room_alias_name');
    }
    const invite = [...new Set((request.invite ?? []).map(localUser))];
    const initialState = (request.initialState ?? []).map((event) => {
      const key = event.stateKey ?? '';
      if (event.type === 'm.room.member' && key.startsWith('@')) localUser(key);
      return { type: event.type, stateKey: key, content: event.content };
    });
    try {
      const { roomId } = await rooms.createRoom({
        creator: caller.userId,
        visibility: request.visibility,
        preset: request.preset,
        name: request.name,
        topic: request.topic,
        invite,
        isDirect: request.isDirect,
        initialState,
        creationContent: request.creationContent,
        powerLevelContentOverride: request.powerLevelContentOverride,
        roomVersion: request.roomVersion,
      });
      return roomId;
    } catch (err) {
      // An initial event the auth rules refuse means the request described a room that cannot exist.
      if (isMatrixError(err) && err.errcode === 'M_FORBIDDEN') {
        throw new MatrixError('M_INVALID_ROOM_STATE', `The room's initial state is not valid: ${err.message}`);
      }
      throw err;
    }
  }

  async function checkCanonicalAlias(roomId: RoomId, content: Readonly<Record<string, unknown>>): Promise<void> {
    const key = stateKey('m.room.canonical_alias', '');
    const currentId = (await store.currentStateEntries(roomId, [key])).get(key);
    const current = currentId === undefined ? undefined : (await store.events([currentId])).get(currentId)?.event.content;
    const aliasesOf = (c: Readonly<Record<string, unknown>> | undefined): unknown[] => [
      ...(c?.alias === undefined ? [] : [c.alias]),
      ...(Array.isArray(c?.alt_aliases) ? c.alt_aliases : c?.alt_aliases === undefined ? [] : [c.alt_aliases]),
    ];
    const known = new Set(aliasesOf(current));
    for (const alias of aliasesOf(content)) {
      if (known.has(alias)) continue;
      // The spec asks that new aliases be valid and point to this room; with no aliases yet, none can.
      throw new MatrixError('M_BAD_ALIAS', `${parseRoomAlias(alias)} does not point to this room (room aliases are not supported yet)`);
    }
  }

  return {
    createRoom,

    async join(caller: Caller, roomIdOrAlias: string, reason?: string): Promise<string> {
      const roomId = await heldRoom(roomIdOnly(roomIdOrAlias), 'not-found');
      await rooms.join(roomId, caller.userId, reason === undefined ? undefined : { reason });
      return roomId;
    },

    async knock(caller: Caller, roomIdOrAlias: string, reason?: string): Promise<string> {
      const roomId = await heldRoom(roomIdOnly(roomIdOrAlias), 'not-found');
      await rooms.knock(roomId, caller.userId, reason);
      return roomId;
    },

    async leave(caller: Caller, roomId: string, reason?: string): Promise<void> {
      await rooms.leave(await heldRoom(roomId, 'forbidden'), caller.userId, reason);
    },

    /** invite, kick, ban and unban: the caller acts on another user of this server. */
    async moderate(caller: Caller, action: 'invite' | 'kick' | 'ban' | 'unban', roomId: string, target: string, reason?: string): Promise<void> {
      const userId = localUser(target);
      await rooms[action](await heldRoom(roomId, 'forbidden'), caller.userId, userId, reason);
    },

    /** A message event; a retransmission of the same transaction gets the first event's id. */
    async sendMessage(caller: Caller, roomId: string, type: string, txnId: string, content: Readonly<Record<string, unknown>>): Promise<string> {
      const room = await heldRoom(roomId, 'forbidden');
      const sent = await rooms.send(room, { type, sender: caller.userId, content }, {
        txn: { userId: caller.userId, deviceId: caller.deviceId, txnId },
      });
      return sent.event.eventId;
    },

    async sendState(caller: Caller, roomId: string, type: string, key: string, content: Readonly<Record<string, unknown>>): Promise<string> {
      const room = await heldRoom(roomId, 'forbidden');
      if (type === 'm.room.member' && key.startsWith('@')) localUser(key);
      if (type === 'm.room.canonical_alias') await checkCanonicalAlias(room, content);
      const sent = await rooms.send(room, { type, stateKey: key, sender: caller.userId, content });
      return sent.event.eventId;
    },
  };
}

export type ClientRoomWrites = ReturnType<typeof createClientRoomWrites>;
