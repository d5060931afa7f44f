import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Presence (client-server API, "Presence"). */

const Presence = Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('unavailable')]);
const Params = Type.Object({ userId: Type.String() });

export const setPresence = defineEndpoint({
  name: 'setPresence',
  method: 'PUT',
  ...clientV3('/presence/{userId}/status'),
  auth: 'user',
  params: Params,
  body: Type.Object({ presence: Presence, status_msg: Type.Optional(Type.String()) }),
  response: Type.Object({}),
});

export const getPresence = defineEndpoint({
  name: 'getPresence',
  method: 'GET',
  ...clientV3('/presence/{userId}/status'),
  auth: 'user',
  params: Params,
  response: Type.Object({
    presence: Presence,
    last_active_ago: Type.Optional(Type.Integer()),
    status_msg: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    currently_active: Type.Optional(Type.Boolean()),
  }),
});
