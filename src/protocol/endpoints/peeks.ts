import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Peeking into world_readable rooms without joining them (MSC2753; src/rooms/peeks.ts). */

/** POST /peek/{roomIdOrAlias}: the calling device follows the room in its /sync, under rooms.peek. */
export const peekRoom = defineEndpoint({
  name: 'peekRoom',
  method: 'POST',
  ...clientV3('/peek/{roomIdOrAlias}'),
  auth: 'user',
  rateLimit: 'membership',
  params: Type.Object({ roomIdOrAlias: Type.String() }),
  // MSC2753's `servers` names where to peek over federation (MSC2444), which is not built: it is not read.
  response: Type.Object({ room_id: Type.String() }),
});

/** POST /rooms/{roomId}/unpeek: the calling device stops following the room. */
export const unpeekRoom = defineEndpoint({
  name: 'unpeekRoom',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/unpeek'),
  auth: 'user',
  params: Type.Object({ roomId: Type.String() }),
  response: Type.Object({}),
});
