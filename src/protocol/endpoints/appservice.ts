import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/** Application service extensions of the client-server API (application service API, "Client-Server API Extensions"). */

/** POST /_matrix/client/v1/appservice/{appserviceId}/ping: the service asks Hearth to ping it (Matrix 1.7). */
export const appservicePing = defineEndpoint({
  name: 'appservicePing',
  method: 'POST',
  path: '/_matrix/client/v1/appservice/{appserviceId}/ping',
  auth: 'appservice',
  params: Type.Object({ appserviceId: Type.String() }),
  body: Type.Object({ transaction_id: Type.Optional(Type.String()) }),
  response: Type.Object({ duration_ms: Type.Integer({ minimum: 0 }) }),
});
