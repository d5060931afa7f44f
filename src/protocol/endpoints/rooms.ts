import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/**
 * Rooms: creation, membership, sending, state, and which rooms a user is in (client-server API, "Rooms",
 * "Room membership", "Sending events to a room", "Getting events for a room").
 */


/** Event contents are free-form JSON objects; the event format checks them when the event is built. */
const Content = Type.Object({}, { additionalProperties: true });
const EventIdReply = Type.Object({ event_id: Type.String() });
const RoomIdReply = Type.Object({ room_id: Type.String() });
const Empty = Type.Object({});
const RoomIdParams = Type.Object({ roomId: Type.String() });
const Reason = Type.Object({ reason: Type.Optional(Type.String()) });
/**
 * A join's body: the reason, and any other keys, which go into the member event's content as Synapse puts
 * them (a per-room displayname, say); third_party_signed is about the invite, not content.
 */
const JoinBody = Type.Object(
  { reason: Type.Optional(Type.String()), third_party_signed: Type.Optional(Type.Object({}, { additionalProperties: true })) },
  { additionalProperties: true },
);
/** Servers to join or knock through, for a room held elsewhere (server_name is the older name of via). */
const ViaServers = Type.Object({
  server_name: Type.Optional(Type.Array(Type.String())),
  via: Type.Optional(Type.Array(Type.String())),
});
/** An identity server and a third-party identifier to invite (third-party invites; also createRoom's invite_3pid). */
const ThirdPartyTarget = {
  id_server: Type.String({ minLength: 1 }),
  id_access_token: Type.String({ minLength: 1 }),
  medium: Type.String({ minLength: 1 }),
  address: Type.String({ minLength: 1 }),
};

const TargetUser = Type.Object({ user_id: Type.String(), reason: Type.Optional(Type.String()) });

/** The client format of an event (ClientEvent); the room server's toClientEvent builds it. */
export const ClientEventSchema = Type.Object(
  {
    content: Content,
    event_id: Type.String(),
    origin_server_ts: Type.Number(),
    room_id: Type.String(),
    sender: Type.String(),
    state_key: Type.Optional(Type.String()),
    type: Type.String(),
    unsigned: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: true },
);

/** POST /createRoom: a new room with the caller as its creator and first member. */
export const createRoom = defineEndpoint({
  name: 'createRoom',
  method: 'POST',
  ...clientV3('/createRoom'),
  auth: 'user',
  rateLimit: 'room_creation',
  body: Type.Object({
    visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
    room_alias_name: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    topic: Type.Optional(Type.String()),
    invite: Type.Optional(Type.Array(Type.String())),
    invite_3pid: Type.Optional(Type.Array(Type.Object(ThirdPartyTarget))),
    room_version: Type.Optional(Type.String()),
    creation_content: Type.Optional(Content),
    initial_state: Type.Optional(
      Type.Array(Type.Object({ type: Type.String(), state_key: Type.Optional(Type.String()), content: Content })),
    ),
    preset: Type.Optional(
      Type.Union([Type.Literal('private_chat'), Type.Literal('public_chat'), Type.Literal('trusted_private_chat')]),
    ),
    is_direct: Type.Optional(Type.Boolean()),
    power_level_content_override: Type.Optional(Content),
  }),
  response: RoomIdReply,
});

/** POST /rooms/{roomId}/join. */
export const joinRoomById = defineEndpoint({
  name: 'joinRoomById',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/join'),
  auth: 'user',
  rateLimit: 'membership',
  params: RoomIdParams,
  body: JoinBody,
  response: RoomIdReply,
});

/** POST /join/{roomIdOrAlias}. */
export const joinRoom = defineEndpoint({
  name: 'joinRoom',
  method: 'POST',
  ...clientV3('/join/{roomIdOrAlias}'),
  auth: 'user',
  rateLimit: 'membership',
  params: Type.Object({ roomIdOrAlias: Type.String() }),
  query: ViaServers,
  body: JoinBody,
  response: RoomIdReply,
});

/** POST /knock/{roomIdOrAlias}. */
export const knockRoom = defineEndpoint({
  name: 'knockRoom',
  method: 'POST',
  ...clientV3('/knock/{roomIdOrAlias}'),
  auth: 'user',
  rateLimit: 'membership',
  params: Type.Object({ roomIdOrAlias: Type.String() }),
  query: ViaServers,
  body: Reason,
  response: RoomIdReply,
});

/** POST /rooms/{roomId}/leave: leave, or reject an invite, or withdraw a knock. */
export const leaveRoom = defineEndpoint({
  name: 'leaveRoom',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/leave'),
  auth: 'user',
  rateLimit: 'membership',
  params: RoomIdParams,
  body: Reason,
  response: Empty,
});

function moderation<N extends string>(name: N, action: string) {
  return defineEndpoint({
    name,
    method: 'POST',
    ...clientV3(`/rooms/{roomId}/${action}`),
    auth: 'user',
    rateLimit: 'membership',
    params: RoomIdParams,
    body: TargetUser,
    response: Empty,
  });
}

/**
 * POST /rooms/{roomId}/invite: a user by id, or (third-party invites) an address through an identity
 * server. One schema for both, as they share the path: which one it is, the service tells from the keys.
 */
export const inviteUser = defineEndpoint({
  name: 'inviteUser',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/invite'),
  auth: 'user',
  rateLimit: 'membership',
  params: RoomIdParams,
  body: Type.Object({
    user_id: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    id_server: Type.Optional(ThirdPartyTarget.id_server),
    id_access_token: Type.Optional(ThirdPartyTarget.id_access_token),
    medium: Type.Optional(ThirdPartyTarget.medium),
    address: Type.Optional(ThirdPartyTarget.address),
  }),
  response: Empty,
});

/** POST /rooms/{roomId}/kick, /ban and /unban: the caller acts on another user. */
export const kick = moderation('kick', 'kick');
export const ban = moderation('ban', 'ban');
export const unban = moderation('unban', 'unban');

/**
 * `ts`: the origin_server_ts an application service gives the event (timestamp massaging, Matrix 1.3);
 * ignored for other callers, as in Synapse.
 */
const MassagedTimestamp = Type.Object({ ts: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })) });

/** PUT /rooms/{roomId}/send/{eventType}/{txnId}: a message event, idempotent per device and txnId. */
export const sendMessage = defineEndpoint({
  name: 'sendMessage',
  method: 'PUT',
  ...clientV3('/rooms/{roomId}/send/{eventType}/{txnId}'),
  auth: 'user',
  rateLimit: 'message',
  params: Type.Object({ roomId: Type.String(), eventType: Type.String(), txnId: Type.String() }),
  query: MassagedTimestamp,
  body: Content,
  response: EventIdReply,
});

/**
 * POST /rooms/{roomId}/send/{eventType}: a message without a transaction id. Dropped from the spec with
 * r0's v1 forms, but Synapse still answers it and sytest sends with it; a retry sends again.
 */
export const sendMessageWithoutTxn = defineEndpoint({
  name: 'sendMessageWithoutTxn',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/send/{eventType}'),
  auth: 'user',
  rateLimit: 'message',
  params: Type.Object({ roomId: Type.String(), eventType: Type.String() }),
  body: Content,
  response: EventIdReply,
});

const StateParams = Type.Object({ roomId: Type.String(), eventType: Type.String(), stateKey: Type.String() });
const StateParamsNoKey = Type.Object({ roomId: Type.String(), eventType: Type.String() });

/** PUT /rooms/{roomId}/state/{eventType}/{stateKey}: a state event. */
export const setRoomStateWithKey = defineEndpoint({
  name: 'setRoomStateWithKey',
  method: 'PUT',
  ...clientV3('/rooms/{roomId}/state/{eventType}/{stateKey}'),
  auth: 'user',
  rateLimit: 'message',
  params: StateParams,
  query: MassagedTimestamp,
  body: Content,
  response: EventIdReply,
});

/** The same with the empty state key, whose trailing slash is optional. */
export const setRoomState = defineEndpoint({
  ...setRoomStateWithKey,
  name: 'setRoomState',
  ...clientV3('/rooms/{roomId}/state/{eventType}'),
  params: StateParamsNoKey,
});

const StateFormat = Type.Object({
  format: Type.Union([Type.Literal('content'), Type.Literal('event')], { default: 'content' }),
});

/** GET /rooms/{roomId}/state/{eventType}/{stateKey}: one state entry's content (or whole event). */
export const getRoomStateWithKey = defineEndpoint({
  name: 'getRoomStateWithKey',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/state/{eventType}/{stateKey}'),
  auth: 'user',
  params: StateParams,
  query: StateFormat,
  response: Type.Object({}, { additionalProperties: true }),
});

/** The same with the empty state key. */
export const getRoomStateEmptyKey = defineEndpoint({
  ...getRoomStateWithKey,
  name: 'getRoomStateEmptyKey',
  ...clientV3('/rooms/{roomId}/state/{eventType}'),
  params: StateParamsNoKey,
});

/** GET /rooms/{roomId}/state: the whole state, as client events. */
export const getRoomState = defineEndpoint({
  name: 'getRoomState',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/state'),
  auth: 'user',
  params: RoomIdParams,
  response: Type.Array(ClientEventSchema),
});

/** GET /joined_rooms. */
export const getJoinedRooms = defineEndpoint({
  name: 'getJoinedRooms',
  method: 'GET',
  ...clientV3('/joined_rooms'),
  auth: 'user',
  response: Type.Object({ joined_rooms: Type.Array(Type.String()) }),
});

/** GET /rooms/{roomId}/joined_members: for joined members only. */
export const getJoinedMembersByRoom = defineEndpoint({
  name: 'getJoinedMembersByRoom',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/joined_members'),
  auth: 'user',
  params: RoomIdParams,
  response: Type.Object({
    joined: Type.Record(
      Type.String(),
      // Both keys are always there, null when unset (as Synapse answers; sytest relies on it).
      Type.Object({ display_name: Type.Union([Type.String(), Type.Null()]), avatar_url: Type.Union([Type.String(), Type.Null()]) }),
    ),
  }),
});

/** POST /rooms/{roomId}/upgrade: a replacement room of another version, and a tombstone in this one. */
export const upgradeRoom = defineEndpoint({
  name: 'upgradeRoom',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/upgrade'),
  auth: 'user',
  rateLimit: 'room_creation',
  params: RoomIdParams,
  body: Type.Object({ new_version: Type.String(), additional_creators: Type.Optional(Type.Array(Type.String())) }),
  response: Type.Object({ replacement_room: Type.String() }),
});
