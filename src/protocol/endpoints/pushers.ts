import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Pushers (client-server API, "Push notifications: Client behaviour", pusher.yaml). */

const PusherData = Type.Object({ url: Type.Optional(Type.String()), format: Type.Optional(Type.String()) }, { additionalProperties: true });

const Pusher = Type.Object({
  pushkey: Type.String(),
  kind: Type.String(),
  app_id: Type.String(),
  app_display_name: Type.String(),
  device_display_name: Type.String(),
  profile_tag: Type.Optional(Type.String()),
  lang: Type.String(),
  data: PusherData,
});

export const getPushers = defineEndpoint({
  name: 'getPushers',
  method: 'GET',
  ...clientV3('/pushers'),
  auth: 'user',
  response: Type.Object({ pushers: Type.Array(Pusher) }),
});

/** Creates or updates a pusher; `kind: null` deletes it. The other fields are required unless deleting (checked by the service). */
export const postPusher = defineEndpoint({
  name: 'postPusher',
  method: 'POST',
  ...clientV3('/pushers/set'),
  auth: 'user',
  body: Type.Object(
    {
      kind: Type.Union([Type.String(), Type.Null()]),
      app_id: Type.String(),
      pushkey: Type.String(),
      app_display_name: Type.Optional(Type.String()),
      device_display_name: Type.Optional(Type.String()),
      profile_tag: Type.Optional(Type.String()),
      lang: Type.Optional(Type.String()),
      data: Type.Optional(PusherData),
      append: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: true },
  ),
  response: Type.Object({}),
});
