import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Reporting content (client-server API, "Reporting content"), and Synapse's admin API to read reports. */

const Empty = Type.Object({});

/** POST /rooms/{roomId}/report/{eventId}; `score` is the 0..-100 rating clients before v1.18 send. */
export const reportEvent = defineEndpoint({
  name: 'reportEvent',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/report/{eventId}'),
  auth: 'user',
  params: Type.Object({ roomId: Type.String(), eventId: Type.String() }),
  body: Type.Object({ reason: Type.Optional(Type.String()), score: Type.Optional(Type.Integer()) }),
  response: Empty,
});

/** POST /rooms/{roomId}/report. */
export const reportRoom = defineEndpoint({
  name: 'reportRoom',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/report'),
  auth: 'user',
  params: Type.Object({ roomId: Type.String() }),
  body: Type.Object({ reason: Type.String() }),
  response: Empty,
});

/** POST /users/{userId}/report. */
export const reportUser = defineEndpoint({
  name: 'reportUser',
  method: 'POST',
  ...clientV3('/users/{userId}/report'),
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  body: Type.Object({ reason: Type.String() }),
  response: Empty,
});

const EventReport = Type.Object({
  id: Type.Integer(),
  received_ts: Type.Integer(),
  room_id: Type.String(),
  event_id: Type.String(),
  user_id: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  score: Type.Union([Type.Integer(), Type.Null()]),
  sender: Type.Optional(Type.String()),
  event_json: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

/** GET /_synapse/admin/v1/event_reports: a page of event reports (server admins). */
export const listEventReports = defineEndpoint({
  name: 'listEventReports',
  method: 'GET',
  path: '/_synapse/admin/v1/event_reports',
  auth: 'user',
  query: Type.Object({
    from: Type.Integer({ minimum: 0, default: 0 }),
    limit: Type.Integer({ minimum: 0, maximum: 1000, default: 100 }),
    dir: Type.Union([Type.Literal('b'), Type.Literal('f')], { default: 'b' }),
    user_id: Type.Optional(Type.String()),
    room_id: Type.Optional(Type.String()),
  }),
  response: Type.Object({ event_reports: Type.Array(EventReport), next_token: Type.Optional(Type.Integer()), total: Type.Integer() }),
});

/** GET /_synapse/admin/v1/event_reports/{reportId}: one report with the reported event (server admins). */
export const getEventReport = defineEndpoint({
  name: 'getEventReport',
  method: 'GET',
  path: '/_synapse/admin/v1/event_reports/{reportId}',
  auth: 'user',
  params: Type.Object({ reportId: Type.Integer({ minimum: 0 }) }),
  response: EventReport,
});
