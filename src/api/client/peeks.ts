import type { FastifyInstance } from 'fastify';
import { peekRoom, unpeekRoom } from '../../protocol/endpoints/peeks.js';
import type { RoomPeeks } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

/** Peeking (MSC2753): POST /peek/{roomIdOrAlias} and POST /rooms/{roomId}/unpeek. */
export function peekRoutes(peeks: RoomPeeks) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, peekRoom, async ({ requester, params }) => ({ room_id: await peeks.peek(requester, params.roomIdOrAlias) }));
    route(app, unpeekRoom, async ({ requester, params }) => {
      await peeks.unpeek(requester, params.roomId);
      return {};
    });
  };
}
