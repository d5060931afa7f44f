import type { FastifyInstance } from 'fastify';
import { getMutualRooms } from '../../protocol/endpoints/mutual-rooms.js';
import type { MutualRooms } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

/** GET /_matrix/client/v1/mutual_rooms: unpack, ask, answer. */
export function mutualRoomsRoutes(mutual: MutualRooms) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getMutualRooms, ({ requester, query }) => mutual.mutualRooms(requester.userId, query.user_id, query.from));
  };
}
