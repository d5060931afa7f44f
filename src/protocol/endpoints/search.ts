import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';
import { RoomEventFilter } from './filters.js';
import { ClientEventSchema } from './rooms.js';

/** POST /search (client-server API, "Server Side Search"): the room_events category. */

const open = { additionalProperties: true } as const;
const Events = Type.Array(ClientEventSchema);
const Order = Type.Union([Type.Literal('recent'), Type.Literal('rank')]);
const GroupKey = Type.Union([Type.Literal('room_id'), Type.Literal('sender')]);

const RoomEventsCriteria = Type.Object({
  search_term: Type.String(),
  keys: Type.Optional(Type.Array(Type.Union([Type.Literal('content.body'), Type.Literal('content.name'), Type.Literal('content.topic')]))),
  filter: Type.Optional(RoomEventFilter),
  order_by: Type.Optional(Order),
  event_context: Type.Optional(Type.Object({
    before_limit: Type.Optional(Type.Integer()),
    after_limit: Type.Optional(Type.Integer()),
    include_profile: Type.Optional(Type.Boolean()),
  }, open)),
  include_state: Type.Optional(Type.Boolean()),
  groupings: Type.Optional(Type.Object({ group_by: Type.Optional(Type.Array(Type.Object({ key: GroupKey }, open))) }, open)),
}, open);

const Profile = Type.Object({ displayname: Type.Optional(Type.String()), avatar_url: Type.Optional(Type.String()) });

const RoomEventsResults = Type.Object({
  count: Type.Integer(),
  highlights: Type.Array(Type.String()),
  results: Type.Array(Type.Object({
    rank: Type.Number(),
    result: ClientEventSchema,
    context: Type.Optional(Type.Object({
      start: Type.String(),
      end: Type.String(),
      profile_info: Type.Optional(Type.Record(Type.String(), Profile)),
      events_before: Events,
      events_after: Events,
    })),
  })),
  next_batch: Type.Optional(Type.String()),
  groups: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Object({
    results: Type.Array(Type.String()),
    order: Type.Integer(),
    next_batch: Type.Optional(Type.String()),
  })))),
  state: Type.Optional(Type.Record(Type.String(), Events)),
});

export const search = defineEndpoint({
  name: 'search',
  method: 'POST',
  ...clientV3('/search'),
  auth: 'user',
  query: Type.Object({ next_batch: Type.Optional(Type.String()) }),
  // Other categories than room_events are let through the schema and refused by the service.
  body: Type.Object({ search_categories: Type.Object({ room_events: Type.Optional(RoomEventsCriteria) }, open) }, open),
  response: Type.Object({ search_categories: Type.Object({ room_events: Type.Optional(RoomEventsResults) }) }),
});
