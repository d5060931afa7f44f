import type { FastifyInstance } from 'fastify';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { MatrixError } from '../../protocol/index.js';
import {
  AdminShutdownBody,
  adminDeleteRoom,
  adminGetRoom,
  adminGetRoomBlock,
  adminGetRoomMembers,
  adminListRooms,
  adminSetRoomBlock,
} from '../../protocol/endpoints/synapse-admin.js';
import type { AdminRooms } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

const shutdownBody = TypeCompiler.Compile(AdminShutdownBody);

/** Synapse's admin API for rooms: list, details, members, blocking and shutting down, for server admins. */
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
    route(app, adminDeleteRoom, ({ requester, params, request }) => {
      // Synapse takes a missing body as {}.
      const body: unknown = request.body ?? {};
      if (!shutdownBody.Check(body)) {
        throw new MatrixError('M_BAD_JSON', 'The body must be an object: new_room_user_id, room_name and message strings, block and purge booleans');
      }
      return rooms.shutdown(requester, params.roomId, {
        newRoomUserId: body.new_room_user_id,
        roomName: body.room_name,
        message: body.message,
        block: body.block,
        purge: body.purge,
      });
    });
  };
}
