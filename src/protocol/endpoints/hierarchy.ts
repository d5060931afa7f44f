import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/** The space hierarchy (client-server API, "Spaces"; server-server API, "Spaces"). */

// The rooms are summaries built by src/rooms/hierarchy.ts; the contract checks the envelope.
const Room = Type.Object({ room_id: Type.String(), children_state: Type.Array(Type.Unknown()) }, { additionalProperties: true });

export const getSpaceHierarchy = defineEndpoint({
  name: 'getSpaceHierarchy',
  method: 'GET',
  path: '/_matrix/client/v1/rooms/{roomId}/hierarchy',
  auth: 'user',
  params: Type.Object({ roomId: Type.String() }),
  query: Type.Object({
    suggested_only: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer()),
    max_depth: Type.Optional(Type.Integer()),
    from: Type.Optional(Type.String()),
  }),
  response: Type.Object({ rooms: Type.Array(Room), next_batch: Type.Optional(Type.String()) }),
});

export const getFederationSpaceHierarchy = defineEndpoint({
  name: 'getFederationSpaceHierarchy',
  method: 'GET',
  path: '/_matrix/federation/v1/hierarchy/{roomId}',
  auth: 'federation',
  params: Type.Object({ roomId: Type.String() }),
  query: Type.Object({ suggested_only: Type.Optional(Type.Boolean()) }),
  response: Type.Object({
    room: Room,
    children: Type.Array(Type.Unknown()),
    inaccessible_children: Type.Array(Type.String()),
  }),
});

/** Matrix 1.15: a room's summary, by id or alias; callers without a token see rooms open to all. */
export const getRoomSummary = defineEndpoint({
  name: 'getRoomSummary',
  method: 'GET',
  path: '/_matrix/client/v1/room_summary/{roomIdOrAlias}',
  aliases: ['/_matrix/client/unstable/im.nheko.summary/summary/{roomIdOrAlias}'],
  auth: 'optional-user',
  params: Type.Object({ roomIdOrAlias: Type.String() }),
  query: Type.Object({ via: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])) }),
  response: Type.Object({ room_id: Type.String() }, { additionalProperties: true }),
});
