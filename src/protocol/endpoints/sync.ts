import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** GET /sync (client-server API, "Syncing"). The reply is built by src/sync; its shape is the spec's. */
export const sync = defineEndpoint({
  name: 'sync',
  method: 'GET',
  ...clientV3('/sync'),
  auth: 'user',
  query: Type.Object({
    filter: Type.Optional(Type.String()),
    since: Type.Optional(Type.String()),
    full_state: Type.Boolean({ default: false }),
    set_presence: Type.Optional(Type.Union([Type.Literal('offline'), Type.Literal('online'), Type.Literal('unavailable')])),
    timeout: Type.Integer({ minimum: 0, default: 0 }),
    use_state_after: Type.Boolean({ default: false }),
    /** The unstable name of use_state_after (MSC4222), which matrix-js-sdk sends. */
    'org.matrix.msc4222.use_state_after': Type.Boolean({ default: false }),
  }),
  response: Type.Object({ next_batch: Type.String() }, { additionalProperties: true }),
});
