import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** GET /notifications: the events the user's push rules said notify them, newest first, paged. */
export const getNotifications = defineEndpoint({
  name: 'getNotifications',
  method: 'GET',
  ...clientV3('/notifications'),
  auth: 'user',
  query: Type.Object({
    from: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1 })),
    only: Type.Optional(Type.String()),
  }),
  response: Type.Object({
    next_token: Type.Optional(Type.String()),
    notifications: Type.Array(Type.Object({
      actions: Type.Array(Type.Unknown()),
      event: Type.Record(Type.String(), Type.Unknown()),
      // Always present, null when unknown, as Synapse serves it (sytest checks the key).
      profile_tag: Type.Union([Type.String(), Type.Null()]),
      read: Type.Boolean(),
      room_id: Type.String(),
      ts: Type.Integer(),
    })),
  }),
});
