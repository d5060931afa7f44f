import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/**
 * The room reads other servers make (server-server API: events.yaml, event_auth.yaml, backfill.yaml):
 * single events, the state at an event, auth chains, history and missing events, and the event nearest a
 * time. Each is an X-Matrix signed request; events go out in the room version's PDU format.
 */

/** A PDU as stored: its format depends on the room version, so it is passed through unchecked. */
export const Pdu = Type.Object({}, { additionalProperties: true });

/** A transaction of PDUs (single_pdu_transaction.yaml, unlimited_pdu_transaction.yaml). */
const PduTransaction = Type.Object({
  origin: Type.String(),
  origin_server_ts: Type.Integer(),
  pdus: Type.Array(Pdu),
});

const RoomIdParams = Type.Object({ roomId: Type.String() });
const StateQuery = Type.Object({ event_id: Type.String() });

/** GET /_matrix/federation/v1/event/{eventId}: one event, as a transaction of one PDU. */
export const getFederationEvent = defineEndpoint({
  name: 'getEvent',
  method: 'GET',
  path: '/_matrix/federation/v1/event/{eventId}',
  auth: 'federation',
  params: Type.Object({ eventId: Type.String() }),
  response: PduTransaction,
});

/** GET /_matrix/federation/v1/state/{roomId}?event_id=: the state before the event, and its auth chain. */
export const getFederationRoomState = defineEndpoint({
  name: 'getRoomState',
  method: 'GET',
  path: '/_matrix/federation/v1/state/{roomId}',
  auth: 'federation',
  params: RoomIdParams,
  query: StateQuery,
  response: Type.Object({ pdus: Type.Array(Pdu), auth_chain: Type.Array(Pdu) }),
});

/** GET /_matrix/federation/v1/state_ids/{roomId}?event_id=: the same, as event ids. */
export const getFederationRoomStateIds = defineEndpoint({
  name: 'getRoomStateIds',
  method: 'GET',
  path: '/_matrix/federation/v1/state_ids/{roomId}',
  auth: 'federation',
  params: RoomIdParams,
  query: StateQuery,
  response: Type.Object({ pdu_ids: Type.Array(Type.String()), auth_chain_ids: Type.Array(Type.String()) }),
});

/** GET /_matrix/federation/v1/event_auth/{roomId}/{eventId}: the event's auth chain. */
export const getFederationEventAuth = defineEndpoint({
  name: 'getEventAuth',
  method: 'GET',
  path: '/_matrix/federation/v1/event_auth/{roomId}/{eventId}',
  auth: 'federation',
  params: Type.Object({ roomId: Type.String(), eventId: Type.String() }),
  response: Type.Object({ auth_chain: Type.Array(Pdu) }),
});

/** GET /_matrix/federation/v1/backfill/{roomId}?v=&limit=: the given events and those before them. */
export const backfillRoom = defineEndpoint({
  name: 'backfillRoom',
  method: 'GET',
  path: '/_matrix/federation/v1/backfill/{roomId}',
  auth: 'federation',
  params: RoomIdParams,
  // `v` repeats in the query string (v=$a&v=$b); one value arrives as a one-element list.
  query: Type.Object({ v: Type.Array(Type.String(), { minItems: 1 }), limit: Type.Integer() }),
  response: PduTransaction,
});

/** POST /_matrix/federation/v1/get_missing_events/{roomId}: events between what the caller has and knows of. */
export const getMissingPreviousEvents = defineEndpoint({
  name: 'getMissingPreviousEvents',
  method: 'POST',
  path: '/_matrix/federation/v1/get_missing_events/{roomId}',
  auth: 'federation',
  params: RoomIdParams,
  body: Type.Object({
    limit: Type.Optional(Type.Integer()),
    min_depth: Type.Optional(Type.Integer()),
    earliest_events: Type.Array(Type.String()),
    latest_events: Type.Array(Type.String()),
  }),
  response: Type.Object({ events: Type.Array(Pdu) }),
});

/** GET /_matrix/federation/v1/timestamp_to_event/{roomId}?ts=&dir=: the event nearest a time. */
export const getFederationEventByTimestamp = defineEndpoint({
  name: 'getEventByTimestamp',
  method: 'GET',
  path: '/_matrix/federation/v1/timestamp_to_event/{roomId}',
  auth: 'federation',
  params: RoomIdParams,
  query: Type.Object({ ts: Type.Integer(), dir: Type.Union([Type.Literal('f'), Type.Literal('b')]) }),
  response: Type.Object({ event_id: Type.String(), origin_server_ts: Type.Integer() }),
});
