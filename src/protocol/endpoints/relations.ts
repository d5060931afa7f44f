import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';
import { ClientEventSchema } from './rooms.js';

/**
 * Relations between events as clients read them (client-server API, "Forming relationships between events",
 * "Threading"): a parent's children, and a room's threads. The spec leaves these without rate limiting.
 */

const RelationsQuery = Type.Object({
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer()),
  dir: Type.Optional(Type.Union([Type.Literal('b'), Type.Literal('f')])),
  recurse: Type.Optional(Type.Boolean()),
});

const RelationsResponse = Type.Object({
  chunk: Type.Array(ClientEventSchema),
  next_batch: Type.Optional(Type.String()),
  prev_batch: Type.Optional(Type.String()),
  recursion_depth: Type.Optional(Type.Integer()),
});

const relationsPath = '/_matrix/client/v1/rooms/{roomId}/relations/{eventId}';

/** GET /v1/rooms/{roomId}/relations/{eventId}: every child of the event. */
export const getRelatingEvents = defineEndpoint({
  name: 'getRelatingEvents',
  method: 'GET',
  path: relationsPath,
  auth: 'user',
  params: Type.Object({ roomId: Type.String(), eventId: Type.String() }),
  query: RelationsQuery,
  response: RelationsResponse,
});

/** GET /v1/rooms/{roomId}/relations/{eventId}/{relType}: the children with that rel_type. */
export const getRelatingEventsWithRelType = defineEndpoint({
  name: 'getRelatingEventsWithRelType',
  method: 'GET',
  path: `${relationsPath}/{relType}`,
  auth: 'user',
  params: Type.Object({ roomId: Type.String(), eventId: Type.String(), relType: Type.String() }),
  query: RelationsQuery,
  response: RelationsResponse,
});

/** GET /v1/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}: the children with that rel_type and type. */
export const getRelatingEventsWithRelTypeAndEventType = defineEndpoint({
  name: 'getRelatingEventsWithRelTypeAndEventType',
  method: 'GET',
  path: `${relationsPath}/{relType}/{eventType}`,
  auth: 'user',
  params: Type.Object({ roomId: Type.String(), eventId: Type.String(), relType: Type.String(), eventType: Type.String() }),
  query: RelationsQuery,
  response: RelationsResponse,
});

/** GET /v1/rooms/{roomId}/threads: thread roots by latest activity, each with its m.thread aggregation. */
export const getThreadRoots = defineEndpoint({
  name: 'getThreadRoots',
  method: 'GET',
  path: '/_matrix/client/v1/rooms/{roomId}/threads',
  auth: 'user',
  params: Type.Object({ roomId: Type.String() }),
  query: Type.Object({
    include: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('participated')])),
    from: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer()),
  }),
  response: Type.Object({ chunk: Type.Array(ClientEventSchema), next_batch: Type.Optional(Type.String()) }),
});
