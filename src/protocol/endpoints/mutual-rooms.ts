import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/** GET /_matrix/client/v1/mutual_rooms: the rooms the caller and user_id are both joined to (1.19). */
export const getMutualRooms = defineEndpoint({
  name: 'getMutualRooms',
  method: 'GET',
  path: '/_matrix/client/v1/mutual_rooms',
  auth: 'user',
  query: Type.Object({ user_id: Type.Optional(Type.String()), from: Type.Optional(Type.String()) }),
  response: Type.Object({ joined: Type.Array(Type.String()), count: Type.Integer(), next_batch: Type.Optional(Type.String()) }),
});
