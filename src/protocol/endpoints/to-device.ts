import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Send-to-device messaging (client-server API, "Send-to-Device messaging"). */

const Content = Type.Record(Type.String(), Type.Unknown());

export const sendToDevice = defineEndpoint({
  name: 'sendToDevice',
  method: 'PUT',
  ...clientV3('/sendToDevice/{eventType}/{txnId}'),
  auth: 'user',
  params: Type.Object({ eventType: Type.String({ minLength: 1 }), txnId: Type.String({ minLength: 1 }) }),
  // user id -> device id (or '*' for all the user's devices) -> content.
  body: Type.Object({ messages: Type.Record(Type.String(), Type.Record(Type.String(), Content)) }),
  response: Type.Object({}),
});
