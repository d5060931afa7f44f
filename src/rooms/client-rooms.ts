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
import type { Clock } from '../platform/clock.js';
import { canonicalJsonBytes } from '../crypto/index.js';
import { canonicalAliasesOf, localAliasRecord, newLocalAlias } from './aliases.js';
import type { RoomPreset } from './create-room.js';
import type { AliasStore, RoomDirectoryStore, RoomReads } from './ports.js';
import type { RoomServer } from './room-server.js';
import { createRoomUpgrades } from './upgrade.js';
import type { UpgradeCarry } from './upgrade-carry.js';
import type { RemoteMembership } from './remote-membership.js';
import { admitsGuests, type GuestAccess } from './guest-access.js';

/** Who is asking: the authenticated user and device (the access token's Requester fits). */
export interface Caller {
  readonly userId: string;
  /** null: an application service acting for one of its users without naming a device. */
  readonly deviceId: string | null;
  /** A guest account: it may join only rooms whose m.room.guest_access is can_join. */
  readonly isGuest?: boolean;
  /** A suspended account (account moderation): it may redact its own events only. */
  readonly suspended?: boolean;
  /** The application service acting (its as_token): it has full control of its alias namespaces. */
  readonly appservice?: { readonly id: string };
}

/**
 * The device a transaction id is scoped to. An application service acting without a device has its
 * transaction ids scoped to the user it acts for (no device has the empty id).
 */
export function txnDevice(caller: Caller): string {
  return caller.deviceId ?? '';
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
  readonly store: Pick<RoomReads, 'room' | 'currentStateEntries' | 'events' | 'currentState' | 'forwardExtremities'>;
  readonly serverName: string;
  /** Aliases: createRoom's room_alias_name, joins by alias, m.room.canonical_alias checks, and upgrades moving them. */
  readonly aliases: Pick<AliasStore, 'alias' | 'createAlias' | 'deleteAlias' | 'roomAliases'>;
  /** createRoom's visibility: public publishes the room; an upgrade moves the listing. */
  readonly directory: Pick<RoomDirectoryStore, 'setPublished' | 'isPublished'>;
  readonly clock: Clock;
  /** Makes this server's guests leave a room that stops admitting them (guest-access.ts); absent: they never are. */
  readonly guestAccess?: Pick<GuestAccess, 'afterEvent'>;
  /** Memberships in rooms held elsewhere (src/rooms/remote-membership.ts); absent: such requests are refused. */
  readonly remote?: Pick<RemoteMembership, 'hasLocalMember' | 'resolveAlias' | 'join' | 'knock' | 'leave' | 'invite' | 'ownMemberEvent'>;
  /** Whether a local user blocks every invite (m.invite_permission_config); absent: nobody does. */
  readonly invitesBlocked?: (userId: string) => Promise<boolean>;
  /** Whether a server admin blocked the room (admin-rooms.ts): no joins, knocks or invites; absent: none is. */
  readonly roomBlocked?: (roomId: string) => Promise<boolean>;
  /** Carries a joining user's settings (and this server's aliases) into an upgraded room's replacement; absent: nothing is. */
  readonly upgradeCarry?: Pick<UpgradeCarry, 'joined'>;
  /**
   * Application services asked about local users and aliases unknown here (they create them on demand:
   * bridged users and channels); absent: none is configured.
   */
  readonly appServices?: {
    /** Asks the services covering the alias; true when one created it (look it up again). */
    readonly aliasExists: (alias: string) => Promise<boolean>;
    /** Before an invite: an unregistered local user a service covers is asked of it (it may register them). */
    readonly provideUser: (userId: string) => Promise<void>;
  };
}

/**
 * What clients ask of rooms that writes: create, membership, messages and state. It parses the
 * client's identifiers, refuses what needs federation (not built yet) before any event is built, and
 * calls the room server, which decides everything the auth rules decide.
 */
export function createClientRoomWrites(deps: ClientRoomWritesDeps) {
  const { rooms, store, serverName, aliases } = deps;
  const upgrades = createRoomUpgrades(deps);
  const { guestAccess } = deps;

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

  /**
   * Whether a join or knock goes over federation: the room is unknown here, or no user of this server is
   * in it and it was not made here (its id names another server, or none: v12).
   */
  async function goesRemote(target: string): Promise<boolean> {
    if (!deps.remote) return false;
    const roomId = parseRoomId(target);
    if (!(await store.room(roomId))) return true;
    return serverNameOf(roomId) !== serverName && !(await deps.remote.hasLocalMember(roomId));
  }

  /** Joining and knocking accept aliases in the path: one of this server resolves here, others on their server. */
  async function roomIdOf(value: string, via?: string[]): Promise<string> {
    const target = parseRoomIdOrAlias(value);
    if (!target.startsWith('#')) return target;
    const alias = parseRoomAlias(target);
    if (serverNameOf(alias) !== serverName) {
      if (!deps.remote) needsFederation(`Room alias ${alias} is on another server`);
      const resolved = await deps.remote.resolveAlias(alias);
      via?.push(...resolved.servers);
      return resolved.roomId;
    }
    const record = await localAliasRecord(aliases, alias, deps.appServices?.aliasExists);
    if (!record) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
    return record.roomId;
  }

  /** The content of the room's current state event of this type (state key ''), if any. */
  async function currentContent(roomId: RoomId, type: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    const key = stateKey(type, '');
    const id = (await store.currentStateEntries(roomId, [key])).get(key);
    return id === undefined ? undefined : (await store.events([id])).get(id)?.event.content;
  }

  /** The current state event at (type, key) if the sender sent it with this very content, else undefined. */
  async function sameState(roomId: RoomId, type: string, key: string, sender: string, content: Readonly<Record<string, unknown>>): Promise<string | undefined> {
    const entry = stateKey(type, key);
    const id = (await store.currentStateEntries(roomId, [entry])).get(entry);
    const current = id === undefined ? undefined : (await store.events([id])).get(id)?.event;
    if (current === undefined || current.sender !== sender) return undefined;
    return canonicalJsonBytes(current.content).equals(canonicalJsonBytes(content)) ? id : undefined;
  }

  /** Refuses joining, knocking on and inviting anyone to a room this server's admins blocked. */
  async function checkNotBlocked(roomId: string): Promise<void> {
    if (await deps.roomBlocked?.(roomId)) throw new MatrixError('M_FORBIDDEN', `Room ${roomId} has been blocked by this server's admins`);
  }

  /** Refuses an invite to a local user who blocks invites (M_INVITE_BLOCKED, as the spec requires). */
  async function checkInvitable(userId: string): Promise<void> {
    await deps.appServices?.provideUser(userId);
    if (await deps.invitesBlocked?.(userId)) throw new MatrixError('M_INVITE_BLOCKED', `${userId} does not accept invites`);
  }

  async function createRoom(caller: Caller, request: ClientCreateRoom): Promise<string> {
    // Checked before the room exists, so a taken alias costs no room (a race with another creator
    // leaves the room without the alias: see below).
    const alias = request.roomAliasName === undefined ? undefined : newLocalAlias(request.roomAliasName, serverName);
    if (alias !== undefined && (await aliases.alias(alias))) {
      throw new MatrixError('M_ROOM_IN_USE', `Room alias ${alias} is already taken; choose another room_alias_name`);
    }
    // Users of other servers are invited over federation once the room exists (each invite needs the room's state).
    const invitees = [...new Set((request.invite ?? []).map((value) => parseUserId(value)))];
    const remoteInvitees = invitees.filter((userId) => userIdServer(userId) !== serverName);
    if (remoteInvitees.length > 0 && !deps.remote) needsFederation(`${remoteInvitees[0]} is on another server`);
    // A local invitee who blocks invites is left out; the room is made with the others (as the spec allows).
    const invite: UserId[] = [];
    for (const userId of invitees) {
      if (userIdServer(userId) === serverName && !(await deps.invitesBlocked?.(userId))) invite.push(userId);
    }
    const initialState = (request.initialState ?? []).map((event) => {
      const key = event.stateKey ?? '';
      if (event.type === 'm.room.member' && key.startsWith('@')) localUser(key);
      return { type: event.type, stateKey: key, content: event.content };
    });
    let created: string;
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
        ...(alias === undefined ? {} : { canonicalAlias: alias }),
      });
      if (alias !== undefined && !(await aliases.createAlias({ alias, roomId, creator: caller.userId }, deps.clock.now()))) {
        // Another request took the alias between the check and now: the room stands, without it.
        throw new MatrixError('M_ROOM_IN_USE', `Room alias ${alias} was taken while room ${roomId} was being created; the room exists without it`);
      }
      if (request.visibility === 'public') await deps.directory.setPublished(roomId, true, deps.clock.now());
      created = roomId;
    } catch (err) {
      // An initial event the auth rules refuse means the request described a room that cannot exist.
      if (isMatrixError(err) && err.errcode === 'M_FORBIDDEN') {
        throw new MatrixError('M_INVALID_ROOM_STATE', `The room's initial state is not valid: ${err.message}`);
      }
      throw err;
    }
    // As Synapse does: the room stands; an invitee's server that refuses or cannot be reached fails the request.
    for (const userId of remoteInvitees) await deps.remote!.invite(created, caller.userId, userId, undefined, request.isDirect);
    return created;
  }

  async function checkCanonicalAlias(roomId: RoomId, content: Readonly<Record<string, unknown>>): Promise<void> {
    const key = stateKey('m.room.canonical_alias', '');
    const currentId = (await store.currentStateEntries(roomId, [key])).get(key);
    const current = currentId === undefined ? undefined : (await store.events([currentId])).get(currentId)?.event.content;
    const known = new Set(canonicalAliasesOf(current));
    if (content.alt_aliases !== undefined && !Array.isArray(content.alt_aliases)) {
      throw new MatrixError('M_INVALID_PARAM', 'alt_aliases must be a list of room aliases');
    }
    // The spec asks that aliases the event adds be valid and point to this room; ones it kept are not
    // checked again (aliases drift, and a room must stay editable).
    for (const value of canonicalAliasesOf(content)) {
      if (known.has(value)) continue;
      if (typeof value !== 'string' || !value.startsWith('#')) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(value)} is not a room alias`);
      const alias = parseRoomAlias(value);
      if (serverNameOf(alias) !== serverName) {
        throw new MatrixError('M_BAD_ALIAS', `${alias} is on another server, and federation is not available on this server yet to check it`);
      }
      if ((await aliases.alias(alias))?.roomId !== roomId) throw new MatrixError('M_BAD_ALIAS', `${alias} does not point to this room`);
    }
  }

  return {
    createRoom,

    /**
     * `content`: what the join's body held (reason, a per-room displayname...), merged into the member
     * event over the caller's profile, as Synapse does; membership is the server's to set.
     */
    async join(caller: Caller, roomIdOrAlias: string, content: Readonly<Record<string, unknown>> = {}, servers: readonly string[] = []): Promise<string> {
      const via = [...servers];
      const target = await roomIdOf(roomIdOrAlias, via);
      await checkNotBlocked(target);
      if (await goesRemote(target)) {
        const { membership: _m, third_party_signed: _s, ...extra } = content;
        try {
          const firstOfServer = !(await deps.remote!.hasLocalMember(target));
          // A guest joins only rooms that admit guests; the resident server's state decides (remote-membership.ts).
          const joined = await deps.remote!.join(caller.userId as UserId, parseRoomId(target), via, extra, { guest: caller.isGuest === true });
          await deps.upgradeCarry?.joined(caller.userId, joined, firstOfServer);
          return joined;
        } catch (err) {
          // A room held here that no server elsewhere knows: joined here, as before federation.
          if (!(isMatrixError(err) && err.errcode === 'M_NOT_FOUND' && (await store.room(target)))) throw err;
        }
      }
      const roomId = await heldRoom(target, 'not-found');
      if (caller.isGuest && !admitsGuests(await currentContent(roomId, 'm.room.guest_access'))) {
        throw new MatrixError('M_FORBIDDEN', `Room ${roomId} does not admit guests (m.room.guest_access is not can_join); register a full account to join it`);
      }
      const { membership: _membership, third_party_signed: _signed, ...extra } = content;
      await rooms.join(roomId, caller.userId, Object.keys(extra).length === 0 ? undefined : extra);
      await deps.upgradeCarry?.joined(caller.userId, roomId, false);
      return roomId;
    },

    async knock(caller: Caller, roomIdOrAlias: string, reason?: string, servers: readonly string[] = []): Promise<string> {
      const via = [...servers];
      const target = await roomIdOf(roomIdOrAlias, via);
      await checkNotBlocked(target);
      if (await goesRemote(target)) return deps.remote!.knock(caller.userId as UserId, parseRoomId(target), via, reason);
      const roomId = await heldRoom(target, 'not-found');
      await rooms.knock(roomId, caller.userId, reason);
      return roomId;
    },

    /** A room id as given, or the room a room alias names (resolved over federation for another server's). */
    resolveRoomId: (roomIdOrAlias: string): Promise<string> => roomIdOf(roomIdOrAlias),

    async leave(caller: Caller, roomId: string, reason?: string): Promise<void> {
      const held = await heldRoom(roomId, 'forbidden');
      // Only invited or knocking, with no one of this server in the room: the leave goes to a resident server.
      const own = deps.remote && (await deps.remote.ownMemberEvent(held, caller.userId));
      if (own && (own.content.membership === 'invite' || own.content.membership === 'knock') && !(await deps.remote!.hasLocalMember(held))) {
        await deps.remote!.leave(caller.userId as UserId, held, reason);
        return;
      }
      await rooms.leave(held, caller.userId, reason);
    },

    /**
     * invite, kick, ban and unban. A user of another server is invited through their server (which
     * countersigns); kicking, banning and unbanning anyone is an event of this room like any other, which
     * reaches the other servers in it through the federation sender.
     */
    async moderate(caller: Caller, action: 'invite' | 'kick' | 'ban' | 'unban', roomId: string, target: string, reason?: string): Promise<void> {
      const targetUser = parseUserId(target);
      if (action === 'invite') await checkNotBlocked(await heldRoom(roomId, 'forbidden'));
      if (action === 'invite' && userIdServer(targetUser) !== serverName) {
        if (!deps.remote) needsFederation(`${targetUser} is on another server`);
        await deps.remote.invite(await heldRoom(roomId, 'forbidden'), caller.userId, targetUser, reason);
        return;
      }
      if (action === 'invite') await checkInvitable(targetUser);
      await rooms[action](await heldRoom(roomId, 'forbidden'), caller.userId, targetUser, reason);
    },

    /**
     * A message event; a retransmission of the same transaction gets the first event's id. Without a
     * transaction id (the legacy POST form) every request sends.
     */
    async sendMessage(caller: Caller, roomId: string, type: string, txnId: string | undefined, content: Readonly<Record<string, unknown>>, originServerTs?: number): Promise<string> {
      const room = await heldRoom(roomId, 'forbidden');
      const sent = await rooms.send(room, { type, sender: caller.userId, content, ...(originServerTs === undefined ? {} : { originServerTs }) },
        txnId === undefined ? {} : { txn: { userId: caller.userId, deviceId: txnDevice(caller), txnId } });
      return sent.event.eventId;
    },

    async sendState(caller: Caller, roomId: string, type: string, key: string, content: Readonly<Record<string, unknown>>, originServerTs?: number): Promise<string> {
      const room = await heldRoom(roomId, 'forbidden');
      // Another server's user may be banned or made to leave by state, not invited (that needs their server).
      if (type === 'm.room.member' && key.startsWith('@') && content.membership !== 'ban' && content.membership !== 'leave') localUser(key);
      if (type === 'm.room.member' && (content.membership === 'invite' || content.membership === 'join' || content.membership === 'knock')) await checkNotBlocked(room);
      if (type === 'm.room.member' && content.membership === 'invite') await checkInvitable(key);
      if (type === 'm.room.canonical_alias') await checkCanonicalAlias(room, content);
      // Setting state to what the caller already set sends nothing and answers the existing event (as Synapse does).
      const same = type === 'm.room.member' ? undefined : await sameState(room, type, key, caller.userId, content);
      if (same !== undefined) return same;
      const sent = await rooms.send(room, { type, stateKey: key, sender: caller.userId, content, ...(originServerTs === undefined ? {} : { originServerTs }) });
      if (guestAccess) await guestAccess.afterEvent(sent.event);
      return sent.event.eventId;
    },

    /** POST /rooms/{roomId}/upgrade: the replacement room's id. */
    async upgrade(caller: Caller, roomId: string, newVersion: string, additionalCreators?: readonly string[]): Promise<string> {
      // Only a member can upgrade a room, so a room this server does not hold is not found, wherever its id points.
      const held = parseRoomId(roomId);
      if (!(await store.room(held))) throw new MatrixError('M_NOT_FOUND', `There is no room ${held} on this server`);
      const replacement = await upgrades.upgrade(caller, held, newVersion, additionalCreators);
      // The upgrader is in the new room already; this server's aliases and listing moved with the upgrade.
      await deps.upgradeCarry?.joined(caller.userId, replacement, false);
      return replacement;
    },
  };
}

export type ClientRoomWrites = ReturnType<typeof createClientRoomWrites>;
