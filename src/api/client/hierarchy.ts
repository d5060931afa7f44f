import type { FastifyInstance } from 'fastify';
import { getRoomSummary, getSpaceHierarchy } from '../../protocol/endpoints/hierarchy.js';
import type { SpaceHierarchy } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

/** GET /rooms/{roomId}/hierarchy: a space's rooms, a page at a time; GET /room_summary/{roomIdOrAlias}. */
export function hierarchyRoutes(hierarchy: SpaceHierarchy) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getSpaceHierarchy, ({ requester, params, query }) =>
      hierarchy.forUser(requester, params.roomId, {
        suggestedOnly: query.suggested_only,
        limit: query.limit,
        maxDepth: query.max_depth,
        from: query.from,
      }));
    route(app, getRoomSummary, ({ requester, params, query }) =>
      hierarchy.summary(requester, params.roomIdOrAlias, query.via === undefined ? [] : [query.via].flat()));
  };
}
