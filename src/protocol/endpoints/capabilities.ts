import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

const Enabled = Type.Object({ enabled: Type.Boolean() });

/** GET /capabilities: what this server lets the caller do (client-server API, "Capabilities negotiation"). */
export const getCapabilities = defineEndpoint({
  name: 'getCapabilities',
  method: 'GET',
  ...clientV3('/capabilities'),
  auth: 'user',
  response: Type.Object({
    capabilities: Type.Object(
      {
        'm.change_password': Enabled,
        'm.room_versions': Type.Object({
          default: Type.String(),
          available: Type.Record(Type.String(), Type.Union([Type.Literal('stable'), Type.Literal('unstable')])),
        }),
        'm.set_displayname': Enabled,
        'm.set_avatar_url': Enabled,
        'm.3pid_changes': Enabled,
        'm.get_login_token': Enabled,
        'm.profile_fields': Type.Object({ enabled: Type.Boolean(), allowed: Type.Optional(Type.Array(Type.String())) }),
        'm.account_moderation': Type.Optional(Type.Object({ suspend: Type.Boolean(), lock: Type.Boolean() })),
      },
      { additionalProperties: true },
    ),
  }),
});
