import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/**
 * The v1 event stream and snapshots: GET /events, GET /initialSync, GET /rooms/{roomId}/initialSync.
 * Deprecated in r0 and gone from the current spec (see spec r0.6.1, "Syncing" and "Room initial sync");
 * Synapse still answers them and sytest's fixtures read them. Built by src/sync/legacy-*.ts.
 */

const Limit = Type.Integer({ minimum: 0 });

/** GET /events: everything new for the user since `from` (now when absent), long-polling up to `timeout` ms. */
export const getEvents = defineEndpoint({
  name: 'getEvents',
  method: 'GET',
  ...clientV3('/events'),
  auth: 'user',
  query: Type.Object({
    from: Type.Optional(Type.String()),
    timeout: Type.Integer({ minimum: 0, default: 0 }),
    room_id: Type.Optional(Type.String()),
    limit: Type.Optional(Limit),
  }),
  response: Type.Object({ start: Type.String(), end: Type.String(), chunk: Type.Array(Type.Object({}, { additionalProperties: true })) }),
});

/** GET /initialSync: a snapshot of the user's rooms, presence and account data, with the stream's `end`. */
export const initialSync = defineEndpoint({
  name: 'initialSync',
  method: 'GET',
  ...clientV3('/initialSync'),
  auth: 'user',
  query: Type.Object({
    limit: Type.Optional(Limit),
    archived: Type.Boolean({ default: false }),
  }),
  response: Type.Object({ end: Type.String(), rooms: Type.Array(Type.Object({}, { additionalProperties: true })) }, { additionalProperties: true }),
});

/** GET /rooms/{roomId}/initialSync: one room's state and latest messages. */
export const roomInitialSync = defineEndpoint({
  name: 'roomInitialSync',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/initialSync'),
  auth: 'user',
  params: Type.Object({ roomId: Type.String() }),
  query: Type.Object({ limit: Type.Optional(Limit) }),
  response: Type.Object({ room_id: Type.String() }, { additionalProperties: true }),
});
