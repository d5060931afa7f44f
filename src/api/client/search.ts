import type { FastifyInstance } from 'fastify';
import { search } from '../../protocol/endpoints/search.js';
import type { SearchService } from '../../search/index.js';
import { route } from '../plumbing/route.js';

/** POST /search: server-side search of room events. */
export function searchRoutes(service: SearchService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, search, async ({ requester, query, body }) => ({
      search_categories: { room_events: await service.search(requester, body.search_categories, query.next_batch) },
    }));
  };
}
