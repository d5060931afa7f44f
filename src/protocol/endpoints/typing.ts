import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Typing notifications (client-server API, "Typing Notifications"). */

export const setTyping = defineEndpoint({
  name: 'setTyping',
  method: 'PUT',
  ...clientV3('/rooms/{roomId}/typing/{userId}'),
  auth: 'user',
  params: Type.Object({ roomId: Type.String(), userId: Type.String() }),
  // timeout may be left out when typing is false.
  body: Type.Object({ typing: Type.Boolean(), timeout: Type.Optional(Type.Integer({ minimum: 0 })) }),
  response: Type.Object({}),
});
