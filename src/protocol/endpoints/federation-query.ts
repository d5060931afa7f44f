import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';
import { getPublicRooms } from './directory.js';

/**
 * Queries other servers make of this one (server-server API: query.yaml, public_rooms.yaml): an alias
 * of this server, a profile of one of its users, and its published room directory.
 */

/** GET /_matrix/federation/v1/query/directory?room_alias=: the room and the servers resident in it. */
export const queryRoomDirectory = defineEndpoint({
  name: 'queryRoomDirectory',
  method: 'GET',
  path: '/_matrix/federation/v1/query/directory',
  auth: 'federation',
  query: Type.Object({ room_alias: Type.String() }),
  response: Type.Object({ room_id: Type.String(), servers: Type.Array(Type.String()) }),
});

/** GET /_matrix/federation/v1/query/profile?user_id=&field=: a local user's profile, or one field of it. */
export const queryProfile = defineEndpoint({
  name: 'queryProfile',
  method: 'GET',
  path: '/_matrix/federation/v1/query/profile',
  auth: 'federation',
  query: Type.Object({ user_id: Type.String(), field: Type.Optional(Type.String()) }),
  response: Type.Object(
    { displayname: Type.Optional(Type.String()), avatar_url: Type.Optional(Type.String()) },
    { additionalProperties: true },
  ),
});

/** The same list the client API's /publicRooms gives (client-server public_rooms_response.yaml). */
const PublicRoomsResponse = getPublicRooms.response;

/** GET /_matrix/federation/v1/publicRooms: this server's published rooms, paged. */
export const getFederationPublicRooms = defineEndpoint({
  name: 'getPublicRooms',
  method: 'GET',
  path: '/_matrix/federation/v1/publicRooms',
  auth: 'federation',
  query: Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    since: Type.Optional(Type.String()),
    include_all_networks: Type.Optional(Type.Boolean()),
    third_party_instance_id: Type.Optional(Type.String()),
  }),
  response: PublicRoomsResponse,
});

/** POST /_matrix/federation/v1/publicRooms: the same with a filter. */
export const queryFederationPublicRooms = defineEndpoint({
  name: 'queryPublicRooms',
  method: 'POST',
  path: '/_matrix/federation/v1/publicRooms',
  auth: 'federation',
  body: Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    since: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    filter: Type.Optional(
      Type.Object({
        generic_search_term: Type.Optional(Type.String()),
        room_types: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Null()]))),
      }),
    ),
    include_all_networks: Type.Optional(Type.Boolean()),
    third_party_instance_id: Type.Optional(Type.String()),
  }),
  response: PublicRoomsResponse,
});
