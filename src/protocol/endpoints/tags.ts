import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Room tagging (client-server API, "Room Tagging"): a user's own labels on rooms. */

/** A tag's data: `order` places the room among others with the tag (0 first). */
const TagData = Type.Object({ order: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })) }, { additionalProperties: true });
const RoomParams = Type.Object({ userId: Type.String(), roomId: Type.String() });
const TagParams = Type.Object({ userId: Type.String(), roomId: Type.String(), tag: Type.String() });

export const getRoomTags = defineEndpoint({
  name: 'getRoomTags',
  method: 'GET',
  ...clientV3('/user/{userId}/rooms/{roomId}/tags'),
  auth: 'user',
  params: RoomParams,
  response: Type.Object({ tags: Type.Record(Type.String(), TagData) }),
});

export const setRoomTag = defineEndpoint({
  name: 'setRoomTag',
  method: 'PUT',
  ...clientV3('/user/{userId}/rooms/{roomId}/tags/{tag}'),
  auth: 'user',
  params: TagParams,
  body: TagData,
  response: Type.Object({}),
});

export const deleteRoomTag = defineEndpoint({
  name: 'deleteRoomTag',
  method: 'DELETE',
  ...clientV3('/user/{userId}/rooms/{roomId}/tags/{tag}'),
  auth: 'user',
  params: TagParams,
  response: Type.Object({}),
});
