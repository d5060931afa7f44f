import type { FastifyInstance } from 'fastify';
import { deleteRoomTag, getRoomTags, setRoomTag } from '../../protocol/endpoints/tags.js';
import type { TagService } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Room tags; only the user's own. */
export function tagRoutes(tags: TagService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getRoomTags, async ({ requester, params }) => ({
      tags: await tags.tags(requester, params.userId, params.roomId),
    }));
    route(app, setRoomTag, async ({ requester, params, body }) => {
      await tags.setTag(requester, params.userId, params.roomId, params.tag, body);
      return {};
    });
    route(app, deleteRoomTag, async ({ requester, params }) => {
      await tags.deleteTag(requester, params.userId, params.roomId, params.tag);
      return {};
    });
  };
}
