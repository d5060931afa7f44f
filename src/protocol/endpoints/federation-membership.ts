import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';
import { Pdu } from './federation-events.js';

/**
 * The membership handshakes other servers make with this one as a resident server (server-server API:
 * joins-v1/v2, leaving-v1/v2, knocks, invites-v1/v2): a template from make_*, then the signed event back
 * through send_*; and the invite a remote room sends one of this server's users, to be signed here.
 * The v1 send_* and invite answers are the old `[200, body]` pairs.
 */

const MembershipParams = Type.Object({ roomId: Type.String(), userId: Type.String() });
const EventParams = Type.Object({ roomId: Type.String(), eventId: Type.String() });
/** `ver` repeats in the query string (ver=9&ver=10); one value arrives as a one-element list. */
const VersionsQuery = Type.Object({ ver: Type.Optional(Type.Array(Type.String())) });

/** make_*: the room version and an unsigned event template for the joining, leaving or knocking server to sign. */
const MakeResponse = Type.Object({ room_version: Type.String(), event: Pdu });

/** send_join's answer (joins-v2.yaml). `origin` is v1's and kept in v2 for old servers, as Synapse sends it. */
const SendJoinResponse = Type.Object({
  origin: Type.String(),
  state: Type.Array(Pdu),
  auth_chain: Type.Array(Pdu),
  event: Type.Optional(Pdu),
  members_omitted: Type.Optional(Type.Boolean()),
  servers_in_room: Type.Optional(Type.Array(Type.String())),
});

const Empty = Type.Object({});

/** GET /_matrix/federation/v1/make_join/{roomId}/{userId}?ver=: a join template (ver defaults to ["1"]). */
export const makeJoin = defineEndpoint({
  name: 'makeJoin',
  method: 'GET',
  path: '/_matrix/federation/v1/make_join/{roomId}/{userId}',
  auth: 'federation',
  params: MembershipParams,
  query: VersionsQuery,
  response: MakeResponse,
});

/** PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}?omit_members=: the join, and the room's state before it. */
export const sendJoinV2 = defineEndpoint({
  name: 'sendJoinV2',
  method: 'PUT',
  path: '/_matrix/federation/v2/send_join/{roomId}/{eventId}',
  auth: 'federation',
  params: EventParams,
  query: Type.Object({ omit_members: Type.Optional(Type.Boolean()) }),
  body: Pdu,
  response: SendJoinResponse,
});

/** PUT /_matrix/federation/v1/send_join/{roomId}/{eventId}: the same for old servers, as [200, body]. */
export const sendJoinV1 = defineEndpoint({
  name: 'sendJoinV1',
  method: 'PUT',
  path: '/_matrix/federation/v1/send_join/{roomId}/{eventId}',
  auth: 'federation',
  params: EventParams,
  body: Pdu,
  response: Type.Tuple([Type.Literal(200), SendJoinResponse]),
});

/** GET /_matrix/federation/v1/make_leave/{roomId}/{userId}: a leave template. */
export const makeLeave = defineEndpoint({
  name: 'makeLeave',
  method: 'GET',
  path: '/_matrix/federation/v1/make_leave/{roomId}/{userId}',
  auth: 'federation',
  params: MembershipParams,
  response: MakeResponse,
});

/** PUT /_matrix/federation/v2/send_leave/{roomId}/{eventId}: the signed leave. */
export const sendLeaveV2 = defineEndpoint({
  name: 'sendLeaveV2',
  method: 'PUT',
  path: '/_matrix/federation/v2/send_leave/{roomId}/{eventId}',
  auth: 'federation',
  params: EventParams,
  body: Pdu,
  response: Empty,
});

/** PUT /_matrix/federation/v1/send_leave/{roomId}/{eventId}: the same, as [200, {}]. */
export const sendLeaveV1 = defineEndpoint({
  name: 'sendLeaveV1',
  method: 'PUT',
  path: '/_matrix/federation/v1/send_leave/{roomId}/{eventId}',
  auth: 'federation',
  params: EventParams,
  body: Pdu,
  response: Type.Tuple([Type.Literal(200), Empty]),
});

/** GET /_matrix/federation/v1/make_knock/{roomId}/{userId}?ver=: a knock template (ver is required). */
export const makeKnock = defineEndpoint({
  name: 'makeKnock',
  method: 'GET',
  path: '/_matrix/federation/v1/make_knock/{roomId}/{userId}',
  auth: 'federation',
  params: MembershipParams,
  query: Type.Object({ ver: Type.Array(Type.String(), { minItems: 1 }) }),
  response: MakeResponse,
});

/** PUT /_matrix/federation/v1/send_knock/{roomId}/{eventId}: the signed knock; the answer helps show the room. */
export const sendKnock = defineEndpoint({
  name: 'sendKnock',
  method: 'PUT',
  path: '/_matrix/federation/v1/send_knock/{roomId}/{eventId}',
  auth: 'federation',
  params: EventParams,
  body: Pdu,
  response: Type.Object({ knock_room_state: Type.Array(Pdu) }),
});

/** PUT /_matrix/federation/v2/invite/{roomId}/{eventId}: a remote room invites one of our users; we sign. */
export const inviteV2 = defineEndpoint({
  name: 'sendInviteV2',
  method: 'PUT',
  path: '/_matrix/federation/v2/invite/{roomId}/{eventId}',
  auth: 'federation',
  params: EventParams,
  body: Type.Object({
    room_version: Type.String(),
    event: Pdu,
    invite_room_state: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  }),
  response: Type.Object({ event: Pdu }),
});

/** PUT /_matrix/federation/v1/invite/{roomId}/{eventId}: the same for rooms v1 and v2; the body is the event. */
export const inviteV1 = defineEndpoint({
  name: 'sendInviteV1',
  method: 'PUT',
  path: '/_matrix/federation/v1/invite/{roomId}/{eventId}',
  auth: 'federation',
  params: EventParams,
  body: Pdu,
  response: Type.Tuple([Type.Literal(200), Type.Object({ event: Pdu })]),
});

/**
 * PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}: a server not in the room asks this one
 * to issue the invite an identity server's `signed` object stands for (a partial m.room.member event).
 */
export const exchangeThirdPartyInvite = defineEndpoint({
  name: 'exchangeThirdPartyInvite',
  method: 'PUT',
  path: '/_matrix/federation/v1/exchange_third_party_invite/{roomId}',
  auth: 'federation',
  params: Type.Object({ roomId: Type.String() }),
  body: Type.Object({}, { additionalProperties: true }),
  response: Type.Object({}),
});

const OnBindBody = Type.Object(
  {
    medium: Type.String(),
    address: Type.String(),
    mxid: Type.String(),
    invites: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  },
  { additionalProperties: true },
);

/**
 * PUT /_matrix/federation/v1/3pid/onbind: an identity server says a third-party identifier was bound to a
 * user of this server, with the invites it kept for it. Unauthenticated (identity servers do not sign
 * requests): each invite counts only if its `signed` object passes the auth rules.
 */
export const onBindThirdPartyIdentifier = defineEndpoint({
  name: 'onBindThirdPartyIdentifier',
  method: 'PUT',
  path: '/_matrix/federation/v1/3pid/onbind',
  auth: 'none',
  body: OnBindBody,
  response: Type.Object({}),
});

/** The same as POST, as identity servers (Sydent, sytest's) send it. */
export const onBindThirdPartyIdentifierPost = defineEndpoint({
  name: 'onBindThirdPartyIdentifierPost',
  method: 'POST',
  path: '/_matrix/federation/v1/3pid/onbind',
  auth: 'none',
  body: OnBindBody,
  response: Type.Object({}),
});
