import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/**
 * Room aliases and the published room directory (client-server API, "Room aliases", "Published room
 * directory").
 */

const Empty = Type.Object({});
const AliasParams = Type.Object({ roomAlias: Type.String() });
const RoomIdParams = Type.Object({ roomId: Type.String() });
const Visibility = Type.Union([Type.Literal('public'), Type.Literal('private')]);

/** PUT /directory/room/{roomAlias}: map a new alias of this server to a room. */
export const setRoomAlias = defineEndpoint({
  name: 'setRoomAlias',
  method: 'PUT',
  ...clientV3('/directory/room/{roomAlias}'),
  auth: 'user',
  params: AliasParams,
  body: Type.Object({ room_id: Type.String() }),
  response: Empty,
});

/** GET /directory/room/{roomAlias}: the room an alias names (no access token needed). */
export const getRoomIdByAlias = defineEndpoint({
  name: 'getRoomIdByAlias',
  method: 'GET',
  ...clientV3('/directory/room/{roomAlias}'),
  auth: 'none',
  params: AliasParams,
  response: Type.Object({ room_id: Type.String(), servers: Type.Array(Type.String()) }),
});

/** DELETE /directory/room/{roomAlias}. */
export const deleteRoomAlias = defineEndpoint({
  name: 'deleteRoomAlias',
  method: 'DELETE',
  ...clientV3('/directory/room/{roomAlias}'),
  auth: 'user',
  params: AliasParams,
  response: Empty,
});

/** GET /rooms/{roomId}/aliases: this server's aliases of the room. */
export const getLocalAliases = defineEndpoint({
  name: 'getLocalAliases',
  method: 'GET',
  ...clientV3('/rooms/{roomId}/aliases'),
  auth: 'user',
  params: RoomIdParams,
  response: Type.Object({ aliases: Type.Array(Type.String()) }),
});

/** GET /directory/list/room/{roomId}: whether the room is published. */
export const getRoomVisibilityOnDirectory = defineEndpoint({
  name: 'getRoomVisibilityOnDirectory',
  method: 'GET',
  ...clientV3('/directory/list/room/{roomId}'),
  auth: 'none',
  params: RoomIdParams,
  response: Type.Object({ visibility: Visibility }),
});

/** PUT /directory/list/room/{roomId}: publish or hide the room; visibility defaults to public. */
export const setRoomVisibilityOnDirectory = defineEndpoint({
  name: 'setRoomVisibilityOnDirectory',
  method: 'PUT',
  ...clientV3('/directory/list/room/{roomId}'),
  auth: 'user',
  params: RoomIdParams,
  body: Type.Object({ visibility: Type.Optional(Visibility) }),
  response: Empty,
});

const NetworkRoomParams = Type.Object({ networkId: Type.String({ minLength: 1 }), roomId: Type.String() });

/**
 * PUT /directory/list/appservice/{networkId}/{roomId}: an application service lists the room in its own
 * directory of the network (or takes it off with private); /publicRooms shows that list for the network's
 * third_party_instance_id.
 */
export const updateAppserviceRoomDirectoryVisibility = defineEndpoint({
  name: 'updateAppserviceRoomDirectoryVisibility',
  method: 'PUT',
  ...clientV3('/directory/list/appservice/{networkId}/{roomId}'),
  auth: 'appservice',
  params: NetworkRoomParams,
  body: Type.Object({ visibility: Visibility }),
  response: Empty,
});

/** DELETE of the same: takes the room off the network's list (Synapse's, which bridges and sytest use; not in the spec). */
export const deleteAppserviceRoomDirectoryEntry = defineEndpoint({
  name: 'deleteAppserviceRoomDirectoryEntry',
  method: 'DELETE',
  ...clientV3('/directory/list/appservice/{networkId}/{roomId}'),
  auth: 'appservice',
  params: NetworkRoomParams,
  response: Empty,
});

const PublicRoomsChunk = Type.Object({
  room_id: Type.String(),
  num_joined_members: Type.Integer(),
  world_readable: Type.Boolean(),
  guest_can_join: Type.Boolean(),
  name: Type.Optional(Type.String()),
  topic: Type.Optional(Type.String()),
  canonical_alias: Type.Optional(Type.String()),
  avatar_url: Type.Optional(Type.String()),
  join_rule: Type.Optional(Type.String()),
  room_type: Type.Optional(Type.String()),
});

const PublicRoomsResponse = Type.Object({
  chunk: Type.Array(PublicRoomsChunk),
  next_batch: Type.Optional(Type.String()),
  prev_batch: Type.Optional(Type.String()),
  total_room_count_estimate: Type.Optional(Type.Integer()),
});

const Limit = Type.Integer({ minimum: 0 });

/** GET /publicRooms: the published rooms, paged; the spec asks no access token. */
export const getPublicRooms = defineEndpoint({
  name: 'getPublicRooms',
  method: 'GET',
  ...clientV3('/publicRooms'),
  auth: 'optional-user',
  query: Type.Object({
    limit: Type.Optional(Limit),
    since: Type.Optional(Type.String()),
    server: Type.Optional(Type.String()),
  }),
  response: PublicRoomsResponse,
});

/** POST /publicRooms: the same with a filter. */
export const queryPublicRooms = defineEndpoint({
  name: 'queryPublicRooms',
  method: 'POST',
  ...clientV3('/publicRooms'),
  auth: 'user',
  query: Type.Object({ server: Type.Optional(Type.String()) }),
  body: Type.Object({
    limit: Type.Optional(Limit),
    // Clients paging from the first page send since: null (sytest does); null means no token.
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
