import type { FastifyInstance } from 'fastify';
import { adminGetRoom, adminGetRoomBlock, adminGetRoomMembers, adminListRooms, adminSetRoomBlock } from '../../protocol/endpoints/synapse-admin.js';
import type { AdminRooms } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

/** Synapse's admin API for rooms: list, details, members and blocking, for server admins. */
export function adminRoomRoutes(rooms: AdminRooms) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, adminListRooms, ({ requester, query }) =>
      rooms.list(requester, {
        from: query.from ?? 0,
        limit: query.limit ?? 100,
        orderBy: query.order_by ?? 'name',
        dir: query.dir ?? 'f',
        searchTerm: query.search_term,
      }),
    );
    route(app, adminGetRoom, ({ requester, params }) => rooms.room(requester, params.roomId));
    route(app, adminGetRoomMembers, ({ requester, params }) => rooms.members(requester, params.roomId));
    route(app, adminGetRoomBlock, ({ requester, params }) => rooms.blockStatus(requester, params.roomId));
    route(app, adminSetRoomBlock, ({ requester, params, body }) => rooms.setBlock(requester, params.roomId, body.block));
  };
}
