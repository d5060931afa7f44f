import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';
import { ClientEventSchema } from './rooms.js';

/**
 * A room's history as clients read it, and what they do to it: /messages, /context, /event, /members,
 * redacting and forgetting (client-server API, "Getting events for a room", "Redactions", "Leaving rooms").
 */

const RoomIdParams = Type.Object({ roomId: Type.String() });
const RoomEventParams = Type.Object({ roomId: Type.String(), eventId: Type.String() });
/** The `filter` parameter: a RoomEventFilter as JSON, parsed by the service (src/rooms/room-event-filter.ts). */
const FilterParam = Type.Optional(Type.String());
const Direction = Type.Union([Type.Literal('b'), Type.Literal('f')]);
const Events = Type.Array(ClientEventSchema);

/** GET /rooms/{roomId}/messages: a page of the timeline, newest first (b) or oldest first (f). */
export const getRoomEvents = defineEndpoint({
  name: 'getRoomEvents',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/messages'),
  auth: 'user',
  params: RoomIdParams,
  query: Type.Object({
    dir: Direction,
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer()),
    filter: FilterParam,
  }),
  response: Type.Object({
    start: Type.String(),
    end: Type.Optional(Type.String()),
    chunk: Events,
    state: Type.Optional(Events),
  }),
});

/** GET /rooms/{roomId}/context/{eventId}: an event with the events and state around it. */
export const getEventContext = defineEndpoint({
  name: 'getEventContext',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/context/{eventId}'),
  auth: 'user',
  params: RoomEventParams,
  query: Type.Object({ limit: Type.Optional(Type.Integer()), filter: FilterParam }),
  response: Type.Object({
    start: Type.String(),
    end: Type.String(),
    events_before: Events,
    event: ClientEventSchema,
    events_after: Events,
    state: Events,
  }),
});

/** GET /rooms/{roomId}/event/{eventId}: one event, if the caller may see it. */
export const getOneRoomEvent = defineEndpoint({
  name: 'getOneRoomEvent',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/event/{eventId}'),
  auth: 'user',
  params: RoomEventParams,
  response: ClientEventSchema,
});

/** GET /events/{eventId}: one event by id alone (deprecated in r0; old clients and bots still call it). */
export const getOneEvent = defineEndpoint({
  name: 'getOneEvent',
  method: 'GET',
  ...clientV3('/events/{eventId}'),
  auth: 'user',
  params: Type.Object({ eventId: Type.String() }),
  response: ClientEventSchema,
});

const Membership = Type.Union([
  Type.Literal('join'), Type.Literal('invite'), Type.Literal('knock'), Type.Literal('leave'), Type.Literal('ban'),
]);

/** GET /rooms/{roomId}/members: member events, now or at a pagination token. */
export const getMembersByRoom = defineEndpoint({
  name: 'getMembersByRoom',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/members'),
  auth: 'user',
  params: RoomIdParams,
  query: Type.Object({
    at: Type.Optional(Type.String()),
    membership: Type.Optional(Membership),
    not_membership: Type.Optional(Membership),
  }),
  response: Type.Object({ chunk: Events }),
});

/** PUT /rooms/{roomId}/redact/{eventId}/{txnId}: an m.room.redaction, idempotent per device and txnId. */
export const redactEvent = defineEndpoint({
  name: 'redactEvent',
  method: 'PUT',
  ...clientV3('/rooms/{roomId}/redact/{eventId}/{txnId}'),
  auth: 'user',
  rateLimit: 'message',
  params: Type.Object({ roomId: Type.String(), eventId: Type.String(), txnId: Type.String() }),
  body: Type.Object({ reason: Type.Optional(Type.String()) }, { additionalProperties: true }),
  response: Type.Object({ event_id: Type.String() }),
});

/**
 * POST /rooms/{roomId}/redact/{eventId}: the same without a transaction id, so not idempotent. Not in the
 * spec any more (r0 had it); Synapse still serves it and older clients and sytest use it.
 */
export const redactEventWithoutTxn = defineEndpoint({
  name: 'redactEventWithoutTxn',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/redact/{eventId}'),
  auth: 'user',
  rateLimit: 'message',
  params: Type.Object({ roomId: Type.String(), eventId: Type.String() }),
  body: Type.Object({ reason: Type.Optional(Type.String()) }, { additionalProperties: true }),
  response: Type.Object({ event_id: Type.String() }),
});

/** POST /rooms/{roomId}/forget: a room the caller has left stops being theirs to read or list. */
export const forgetRoom = defineEndpoint({
  name: 'forgetRoom',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/forget'),
  auth: 'user',
  rateLimit: 'membership',
  params: RoomIdParams,
  // No body is read: clients send {} or nothing.
  response: Type.Object({}),
});

/** GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event: the event nearest a time. */
export const getEventByTimestamp = defineEndpoint({
  name: 'getEventByTimestamp',
  method: 'GET',
  path: '/_matrix/client/v1/rooms/{roomId}/timestamp_to_event',
  auth: 'user',
  params: RoomIdParams,
  query: Type.Object({ ts: Type.Integer(), dir: Direction }),
  response: Type.Object({ event_id: Type.String(), origin_server_ts: Type.Integer() }),
});
