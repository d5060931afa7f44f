import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/**
 * PUT /_matrix/federation/v1/send/{txnId} (server-server transactions.yaml): another server pushes PDUs and
 * EDUs. PDUs pass through unchecked here (their format depends on the room version, checked per PDU); the
 * limits of 50 PDUs and 100 EDUs are checked by the service, to name them in the error.
 */
export const sendTransaction = defineEndpoint({
  name: 'sendTransaction',
  method: 'PUT',
  path: '/_matrix/federation/v1/send/{txnId}',
  auth: 'federation',
  params: Type.Object({ txnId: Type.String() }),
  body: Type.Object({
    origin: Type.String(),
    origin_server_ts: Type.Integer(),
    pdus: Type.Array(Type.Unknown()),
    edus: Type.Optional(Type.Array(Type.Object({ edu_type: Type.String(), content: Type.Unknown() }))),
  }),
  response: Type.Object({
    pdus: Type.Record(Type.String(), Type.Object({ error: Type.Optional(Type.String()) })),
  }),
});
