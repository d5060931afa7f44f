/**
 * Third-party invites (client-server API "Third-party invites", server-server API "Third-party invites"):
 * inviting an email address. The identity server the inviter names says whom the address is bound to; a
 * bound address invites that user as usual. An unbound one is stored at the identity server, and the room
 * gets an m.room.third_party_invite naming a token and the identity server's public keys. When someone
 * binds the address, the identity server tells their homeserver (/3pid/onbind) with a `signed` object per
 * invite; that server (or, when it is not in the room, a server that is, through
 * /exchange_third_party_invite) turns it into the member invite, whose auth rule checks `signed` against
 * the published keys. Before issuing one, the key that signed is checked as still valid with the identity
 * server (its key_validity_url): a key the identity server revoked, or cannot vouch for, invites no one.
 */
import { isPlainObject } from '../crypto/index.js';
import { stateKey, thirdPartyInviteVerifyingKey, type RoomEvent } from '../events/index.js';
import type { IdentityServerClient } from '../identity/index.js';
import type { Logger } from '../platform/logger.js';
import { isUserId, MatrixError, parseRoomId, serverNameOf, userIdServer, type RoomId, type UserId } from '../protocol/index.js';
import type { RoomReads } from './ports.js';
import type { RoomServer } from './room-server.js';

export interface ThirdPartyInviteRequest {
  readonly idServer: string;
  readonly idAccessToken: string;
  readonly medium: string;
  readonly address: string;
}

export interface ThirdPartyInvitesDeps {
  readonly rooms: Pick<RoomServer, 'send' | 'prepare'>;
  readonly store: Pick<RoomReads, 'room' | 'currentStateEntries' | 'events'>;
  readonly identity: IdentityServerClient;
  readonly serverName: string;
  /** Invites a known user as POST /invite with user_id does (a user of another server through theirs). */
  readonly inviteUser: (inviter: string, roomId: string, userId: string) => Promise<void>;
  /** Invites a user of another server with this third_party_invite in the content (countersigned by their server). */
  readonly inviteRemote?: (roomId: string, sender: string, target: UserId, thirdPartyInvite: Readonly<Record<string, unknown>>) => Promise<void>;
  /** Whether a user of this server is joined to the room (this server can then issue the invite itself). */
  readonly hasLocalMember: (roomId: string) => Promise<boolean>;
  /** PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId} on `server`. */
  readonly exchange?: (server: string, roomId: string, body: Readonly<Record<string, unknown>>) => Promise<void>;
  /** The inviter's profile, which the identity server may put in its email. */
  readonly profile?: (userId: string) => Promise<Readonly<Record<string, string>>>;
  readonly log: Logger;
}

/** One invite of an /onbind request, as checked. */
interface BoundInvite {
  readonly roomId: RoomId;
  readonly sender: string;
  readonly mxid: string;
  readonly signed: Readonly<Record<string, unknown>>;
}

const THIRD_PARTY_INVITE = 'm.room.third_party_invite';

export type ThirdPartyInvites = ReturnType<typeof createThirdPartyInvites>;

export function createThirdPartyInvites(deps: ThirdPartyInvitesDeps) {
  const { rooms, store, identity, serverName } = deps;
  const log = deps.log.child({ component: 'third-party-invites' });

  async function currentContent(roomId: string, type: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    const key = stateKey(type, '');
    const id = (await store.currentStateEntries(roomId, [key])).get(key);
    return id === undefined ? undefined : (await store.events([id])).get(id)?.event.content;
  }

  /** What store-invite may show the invitee about the room and the inviter (all optional). */
  async function inviteDetails(roomId: string, sender: string): Promise<Record<string, string>> {
    const details: Record<string, string> = {};
    const alias = (await currentContent(roomId, 'm.room.canonical_alias'))?.alias;
    const name = (await currentContent(roomId, 'm.room.name'))?.name;
    const avatar = (await currentContent(roomId, 'm.room.avatar'))?.url;
    const joinRule = (await currentContent(roomId, 'm.room.join_rules'))?.join_rule;
    const roomType = (await currentContent(roomId, 'm.room.create'))?.type;
    if (typeof alias === 'string') details.room_alias = alias;
    if (typeof name === 'string') details.room_name = name;
    if (typeof avatar === 'string') details.room_avatar_url = avatar;
    if (typeof joinRule === 'string') details.room_join_rules = joinRule;
    if (typeof roomType === 'string') details.room_type = roomType;
    const profile = (await deps.profile?.(sender).catch(() => undefined)) ?? {};
    if (profile.displayname !== undefined) details.sender_display_name = profile.displayname;
    if (profile.avatar_url !== undefined) details.sender_avatar_url = profile.avatar_url;
    return details;
  }

  async function currentMembership(roomId: string, userId: string): Promise<unknown> {
    const key = stateKey('m.room.member', userId);
    const id = (await store.currentStateEntries(roomId, [key])).get(key);
    return id === undefined ? undefined : (await store.events([id])).get(id)?.event.content.membership;
  }

  /** The room's pending third-party invite for the token (current state), or undefined. */
  async function pendingInvite(roomId: string, token: string): Promise<RoomEvent | undefined> {
    const key = stateKey(THIRD_PARTY_INVITE, token);
    const id = (await store.currentStateEntries(roomId, [key])).get(key);
    const event = id === undefined ? undefined : (await store.events([id])).get(id)?.event;
    // A revoked invite is one whose content was emptied.
    return event !== undefined && typeof event.content.display_name === 'string' ? event : undefined;
  }

  /**
   * Issues the member invite a bound 3pid invite stands for, in a room this server is in: the pending
   * invite must exist and be the sender's, a key it published must have signed `signed`, and the identity
   * server must still hold that key valid. The invite is then sent as the 3pid invite's sender.
   */
  async function issue(invite: BoundInvite): Promise<void> {
    const { roomId, sender, mxid, signed } = invite;
    const token = signed.token;
    if (typeof token !== 'string') throw new MatrixError('M_INVALID_PARAM', 'signed.token is missing');
    const pending = await pendingInvite(roomId, token);
    if (pending === undefined) throw new MatrixError('M_FORBIDDEN', `Room ${roomId} has no pending third-party invite with that token`);
    if (pending.sender !== sender) throw new MatrixError('M_FORBIDDEN', `The third-party invite was sent by ${pending.sender}, not ${sender}`);
    const key = thirdPartyInviteVerifyingKey(signed, pending);
    if (key === undefined) throw new MatrixError('M_FORBIDDEN', 'The signed invite is not signed by a key the third-party invite published');
    if (key.keyValidityUrl === undefined || !(await identity.isKeyValid(key.keyValidityUrl, key.publicKey))) {
      throw new MatrixError('M_FORBIDDEN', 'The identity server does not vouch for the key that signed the invite (revoked, or it could not be asked)');
    }
    const thirdPartyInvite = { display_name: pending.content.display_name, signed };
    const target = mxid as UserId;
    if (userIdServer(target) === serverName) {
      await rooms.send(roomId, { type: 'm.room.member', stateKey: target, sender, content: { membership: 'invite', third_party_invite: thirdPartyInvite } });
    } else {
      if (!deps.inviteRemote) throw new MatrixError('M_FORBIDDEN', `${target} is on another server, and federation is not available`);
      await deps.inviteRemote(roomId, sender, target, thirdPartyInvite);
    }
  }

  /** A `signed` object as given: mxid, token and signatures present. */
  function signedObject(value: unknown, mxid: string): Readonly<Record<string, unknown>> {
    if (!isPlainObject(value) || value.mxid !== mxid || typeof value.token !== 'string' || !isPlainObject(value.signatures)) {
      throw new MatrixError('M_INVALID_PARAM', `signed must be an object with mxid ${mxid}, a token and signatures`);
    }
    return value;
  }

  return {
    /** POST /rooms/{roomId}/invite with an identity server and a third-party identifier. */
    async invite(inviter: string, roomId: string, request: ThirdPartyInviteRequest): Promise<void> {
      if (request.medium !== 'email' && request.medium !== 'msisdn') {
        throw new MatrixError('M_INVALID_PARAM', `medium must be email or msisdn, not '${request.medium}'`);
      }
      if (!(await store.room(roomId))) throw new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}`);
      const bound = await identity.lookup(request.idServer, request.idAccessToken, request.medium, request.address);
      if (bound !== null) {
        await deps.inviteUser(inviter, roomId, bound);
        return;
      }
      // The inviter must be able to send the 3pid invite before the identity server is asked to keep one.
      await rooms.prepare(roomId, { type: THIRD_PARTY_INVITE, stateKey: 'pending', sender: inviter, content: { display_name: '', key_validity_url: '', public_key: '' } });
      const stored = await identity.storeInvite(request.idServer, request.idAccessToken, {
        medium: request.medium,
        address: request.address,
        room_id: roomId,
        sender: inviter,
        ...(await inviteDetails(roomId, inviter)),
      });
      const [first] = stored.publicKeys;
      await rooms.send(roomId, {
        type: THIRD_PARTY_INVITE,
        stateKey: stored.token,
        sender: inviter,
        content: {
          display_name: stored.displayName,
          key_validity_url: first!.keyValidityUrl,
          public_key: first!.publicKey,
          public_keys: stored.publicKeys.map((key) => ({ public_key: key.publicKey, key_validity_url: key.keyValidityUrl })),
        },
      });
      log.info({ roomId, medium: request.medium }, 'third-party invite stored');
    },

    /**
     * /_matrix/federation/v1/3pid/onbind: an identity server says a user of this server bound an address,
     * with the invites it kept for it. Each is issued here when a user of this server is in the room, else
     * by the room's servers through /exchange_third_party_invite. One that fails does not stop the others;
     * the identity server is then answered with the first failure (as Synapse answers), so it knows.
     */
    async onBind(body: Readonly<Record<string, unknown>>): Promise<void> {
      const mxid = body.mxid;
      if (!isUserId(mxid) || userIdServer(mxid as UserId) !== serverName) throw new MatrixError('M_INVALID_PARAM', 'mxid must be a user of this server');
      const invites = Array.isArray(body.invites) ? body.invites : [];
      let failure: unknown;
      for (const entry of invites) {
        try {
          if (!isPlainObject(entry) || typeof entry.room_id !== 'string' || !isUserId(entry.sender)) {
            throw new MatrixError('M_INVALID_PARAM', 'an invite needs room_id, sender and signed');
          }
          const invite: BoundInvite = { roomId: parseRoomId(entry.room_id), sender: entry.sender, mxid, signed: signedObject(entry.signed, mxid) };
          if ((await store.room(invite.roomId)) && (await deps.hasLocalMember(invite.roomId))) {
            await issue(invite);
          } else {
            await exchangeElsewhere(invite);
          }
        } catch (err) {
          log.info({ reason: err instanceof Error ? err.message : String(err) }, 'third-party invite from onbind not issued');
          failure ??= err;
        }
      }
      if (failure !== undefined) throw failure;
    },

    /** PUT /exchange_third_party_invite/{roomId}: another server asks this one, in the room, to issue the invite. */
    async exchange(roomId: string, body: Readonly<Record<string, unknown>>): Promise<void> {
      const content = isPlainObject(body.content) ? body.content : {};
      const thirdParty = isPlainObject(content.third_party_invite) ? content.third_party_invite : {};
      if (body.type !== 'm.room.member' || content.membership !== 'invite' || body.room_id !== roomId) {
        throw new MatrixError('M_INVALID_PARAM', 'The event must be an m.room.member invite for this room');
      }
      if (!isUserId(body.sender) || !isUserId(body.state_key)) throw new MatrixError('M_INVALID_PARAM', 'sender and state_key must be user ids');
      if (!(await store.room(roomId)) || !(await deps.hasLocalMember(roomId))) throw new MatrixError('M_FORBIDDEN', `This server is not in room ${roomId}`);
      await issue({ roomId: parseRoomId(roomId), sender: body.sender, mxid: body.state_key, signed: signedObject(thirdParty.signed, body.state_key) });
    },

    /**
     * A join with third_party_signed: the joiner presents the identity server's `signed` object for an
     * invite of theirs, which is issued first (the join then proceeds as an invited user's).
     */
    async beforeJoin(joiner: string, roomId: string, signed: Readonly<Record<string, unknown>>): Promise<void> {
      if (signed.mxid !== joiner) throw new MatrixError('M_FORBIDDEN', `third_party_signed is for ${String(signed.mxid)}, not you`);
      if (!isUserId(signed.sender)) throw new MatrixError('M_INVALID_PARAM', 'third_party_signed.sender must be a user id');
      const invite: BoundInvite = { roomId: parseRoomId(roomId), sender: signed.sender, mxid: joiner, signed: signedObject(signed, joiner) };
      if ((await store.room(roomId)) && (await deps.hasLocalMember(roomId))) {
        // Invited or joined already (the identity server's onbind came first): the join goes ahead as it is.
        const membership = await currentMembership(roomId, joiner);
        if (membership !== 'invite' && membership !== 'join') await issue(invite);
      } else {
        await exchangeElsewhere(invite);
      }
    },
  };

  /** Asks the room's servers (the room id's and the sender's) to issue the invite; the first that does wins. */
  async function exchangeElsewhere(invite: BoundInvite): Promise<void> {
    if (!deps.exchange) throw new MatrixError('M_FORBIDDEN', `This server is not in room ${invite.roomId}, and federation is not available`);
    const named: Array<string | undefined> = [serverNameOf(invite.roomId), userIdServer(invite.sender as UserId)];
    const servers = [...new Set(named)].filter((server): server is string => server !== undefined && server !== serverName);
    let lastError: unknown = new MatrixError('M_FORBIDDEN', `No server in room ${invite.roomId} is known to ask`);
    for (const server of servers) {
      try {
        await deps.exchange(server, invite.roomId, {
          type: 'm.room.member',
          room_id: invite.roomId,
          sender: invite.sender,
          state_key: invite.mxid,
          content: { membership: 'invite', third_party_invite: { display_name: '', signed: invite.signed } },
        });
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }
}
