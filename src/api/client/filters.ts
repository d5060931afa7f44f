import type { FastifyInstance } from 'fastify';
import { defineFilter, getFilter } from '../../protocol/endpoints/filters.js';
import type { FilterService } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Filters: upload one, read it back by id. */
export function filterRoutes(filters: FilterService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, defineFilter, async ({ params, body, requester }) => ({
      filter_id: await filters.create(requester, params.userId, body),
    }));

    route(app, getFilter, ({ params, requester }) => filters.get(requester, params.userId, params.filterId));
  };
}
