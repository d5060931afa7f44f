import type { FastifyInstance } from 'fastify';
import {
  ban,
  createRoom,
  getJoinedMembersByRoom,
  getJoinedRooms,
  getRoomState,
  getRoomStateEmptyKey,
  getRoomStateWithKey,
  inviteUser,
  joinRoom,
  joinRoomById,
  kick,
  knockRoom,
  leaveRoom,
  sendMessage,
  sendMessageWithoutTxn,
  setRoomState,
  setRoomStateWithKey,
  unban,
  upgradeRoom,
} from '../../protocol/endpoints/rooms.js';
import type { ClientRooms, ThirdPartyInvites } from '../../rooms/index.js';
import { isPlainObject } from '../../crypto/index.js';
import { MatrixError } from '../../protocol/index.js';
import type { Requester } from '../../users/index.js';
import { route } from '../plumbing/route.js';
import { roomHistoryRoutes } from './room-history.js';
import { relationsRoutes } from './relations.js';

/** Rooms: each handler unpacks the request, makes one call to the client rooms service, shapes the reply. */
export function roomRoutes(rooms: ClientRooms, thirdParty: ThirdPartyInvites | null = null) {
  function thirdPartyInvites(): ThirdPartyInvites {
    if (thirdParty === null) throw new MatrixError('M_UNRECOGNIZED', 'Third-party invites are not available on this server');
    return thirdParty;
  }

  return async (app: FastifyInstance): Promise<void> => {
    route(app, createRoom, async ({ requester, body }) => {
      const roomId = await rooms.createRoom(requester, {
        visibility: body.visibility,
        roomAliasName: body.room_alias_name,
        name: body.name,
        topic: body.topic,
        invite: body.invite,
        roomVersion: body.room_version,
        creationContent: body.creation_content,
        initialState: body.initial_state?.map((event) => ({ type: event.type, stateKey: event.state_key, content: event.content })),
        preset: body.preset,
        isDirect: body.is_direct,
        powerLevelContentOverride: body.power_level_content_override,
      });
      // Addresses to invite through identity servers, once the room exists (as Synapse does).
      for (const target of body.invite_3pid ?? []) {
        await thirdPartyInvites().invite(requester.userId, roomId, { idServer: target.id_server, idAccessToken: target.id_access_token, medium: target.medium, address: target.address });
      }
      return { room_id: roomId };
    });

    /** A join presenting an identity server's signed invite: the invite is issued first. */
    const signedInvite = async (userId: string, roomIdOrAlias: string, signed: unknown) => {
      if (signed === undefined) return;
      if (!isPlainObject(signed)) throw new MatrixError('M_BAD_JSON', 'third_party_signed must be an object');
      if (!roomIdOrAlias.startsWith('!')) throw new MatrixError('M_INVALID_PARAM', 'A join with third_party_signed must name the room by its id');
      await thirdPartyInvites().beforeJoin(userId, roomIdOrAlias, signed);
    };
    route(app, joinRoomById, async ({ requester, params, body }) => {
      await signedInvite(requester.userId, params.roomId, body.third_party_signed);
      return { room_id: await rooms.join(requester, params.roomId, body) };
    });
    route(app, joinRoom, async ({ requester, params, query, body }) => {
      await signedInvite(requester.userId, params.roomIdOrAlias, body.third_party_signed);
      return { room_id: await rooms.join(requester, params.roomIdOrAlias, body, [...(query.via ?? []), ...(query.server_name ?? [])]) };
    });
    route(app, knockRoom, async ({ requester, params, query, body }) => ({
      room_id: await rooms.knock(requester, params.roomIdOrAlias, body.reason, [...(query.via ?? []), ...(query.server_name ?? [])]),
    }));
    route(app, leaveRoom, async ({ requester, params, body }) => {
      await rooms.leave(requester, params.roomId, body.reason);
      return {};
    });
    route(app, inviteUser, async ({ requester, params, body }) => {
      if (body.user_id !== undefined) {
        await rooms.moderate(requester, 'invite', params.roomId, body.user_id, body.reason);
        return {};
      }
      const { id_server: idServer, id_access_token: idAccessToken, medium, address } = body;
      if (idServer === undefined || idAccessToken === undefined || medium === undefined || address === undefined) {
        throw new MatrixError('M_MISSING_PARAM', 'Give user_id, or id_server, id_access_token, medium and address for a third-party invite');
      }
      await thirdPartyInvites().invite(requester.userId, params.roomId, { idServer, idAccessToken, medium, address });
      return {};
    });
    for (const [endpoint, action] of [[kick, 'kick'], [ban, 'ban'], [unban, 'unban']] as const) {
      route(app, endpoint, async ({ requester, params, body }) => {
        await rooms.moderate(requester, action, params.roomId, body.user_id, body.reason);
        return {};
      });
    }

    // Since v1.18 a redaction may be sent as any message is, its target in content.redacts: it goes the way
    // of PUT /redact (the same checks; before v11 the event carries redacts at its top level).
    route(app, sendMessage, async ({ requester, params, query, body }) => ({
      event_id: params.eventType === REDACTION
        ? await rooms.redact(requester, params.roomId, redactionTarget(body), params.txnId, redactionContent(body))
        : await rooms.sendMessage(requester, params.roomId, params.eventType, params.txnId, body, massagedTs(requester, query.ts)),
    }));
    route(app, sendMessageWithoutTxn, async ({ requester, params, body }) => ({
      event_id: params.eventType === REDACTION
        ? await rooms.redact(requester, params.roomId, redactionTarget(body), undefined, redactionContent(body))
        : await rooms.sendMessage(requester, params.roomId, params.eventType, undefined, body),
    }));
    route(app, setRoomStateWithKey, async ({ requester, params, query, body }) => ({
      event_id: await rooms.sendState(requester, params.roomId, params.eventType, params.stateKey, body, massagedTs(requester, query.ts)),
    }));
    route(app, setRoomState, async ({ requester, params, query, body }) => ({
      event_id: await rooms.sendState(requester, params.roomId, params.eventType, '', body, massagedTs(requester, query.ts)),
    }));

    route(app, getRoomState, ({ requester, params }) => rooms.state(requester, params.roomId));
    route(app, getRoomStateWithKey, ({ requester, params, query }) =>
      rooms.stateEvent(requester, params.roomId, params.eventType, params.stateKey, query.format));
    route(app, getRoomStateEmptyKey, ({ requester, params, query }) =>
      rooms.stateEvent(requester, params.roomId, params.eventType, '', query.format));
    route(app, getJoinedRooms, async ({ requester }) => ({ joined_rooms: await rooms.joinedRooms(requester) }));
    route(app, getJoinedMembersByRoom, async ({ requester, params }) => ({
      joined: await rooms.joinedMembers(requester, params.roomId),
    }));
    route(app, upgradeRoom, async ({ requester, params, body }) => ({
      replacement_room: await rooms.upgrade(requester, params.roomId, body.new_version, body.additional_creators),
    }));
    await roomHistoryRoutes(rooms)(app);
    await relationsRoutes(rooms)(app);
  };
}

const REDACTION = 'm.room.redaction';

/** The event a redaction sent through /send redacts: content.redacts. */
function redactionTarget(content: Readonly<Record<string, unknown>>): string {
  if (typeof content.redacts !== 'string') {
    throw new MatrixError('M_BAD_JSON', 'An m.room.redaction needs content.redacts: the id of the event it redacts');
  }
  return content.redacts;
}

/** The rest of its content (a reason, say). */
function redactionContent(content: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const { redacts: _redacts, ...rest } = content;
  return rest;
}

/** The `ts` query parameter counts for application services only (timestamp massaging); others send "now". */
function massagedTs(requester: Requester, ts: number | undefined): number | undefined {
  return requester.appservice === undefined ? undefined : ts;
}
