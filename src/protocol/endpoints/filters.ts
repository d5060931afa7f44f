import { Type, type TSchema } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/**
 * Filters (client-server API, "Filtering"). The schemas check the shape the spec gives (objects, arrays
 * of strings, booleans, an integer limit) and let unknown keys through, as clients add their own.
 */


const open = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: true });
const Strings = Type.Optional(Type.Array(Type.String()));
const Flag = Type.Optional(Type.Boolean());

const eventFilterFields = { limit: Type.Optional(Type.Integer()), not_senders: Strings, not_types: Strings, senders: Strings, types: Strings };
export const EventFilter = open(eventFilterFields);
export const RoomEventFilter = open({
  ...eventFilterFields,
  unread_thread_notifications: Flag,
  lazy_load_members: Flag,
  include_redundant_members: Flag,
  not_rooms: Strings,
  rooms: Strings,
  contains_url: Flag,
});
export const RoomFilter = open({
  not_rooms: Strings,
  rooms: Strings,
  ephemeral: Type.Optional(RoomEventFilter),
  include_leave: Flag,
  state: Type.Optional(RoomEventFilter),
  timeline: Type.Optional(RoomEventFilter),
  account_data: Type.Optional(RoomEventFilter),
});
export const Filter = open({
  event_fields: Strings,
  event_format: Type.Optional(Type.Union([Type.Literal('client'), Type.Literal('federation')])),
  presence: Type.Optional(EventFilter),
  account_data: Type.Optional(EventFilter),
  room: Type.Optional(RoomFilter),
});

export const defineFilter = defineEndpoint({
  name: 'defineFilter',
  method: 'POST',
  ...clientV3('/user/{userId}/filter'),
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  body: Filter,
  response: Type.Object({ filter_id: Type.String() }),
});

export const getFilter = defineEndpoint({
  name: 'getFilter',
  method: 'GET',
  ...clientV3('/user/{userId}/filter/{filterId}'),
  auth: 'user',
  params: Type.Object({ userId: Type.String(), filterId: Type.String() }),
  response: Filter,
});
