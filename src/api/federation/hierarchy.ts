import type { FastifyInstance } from 'fastify';
import { getFederationSpaceHierarchy } from '../../protocol/endpoints/hierarchy.js';
import type { SpaceHierarchy } from '../../rooms/index.js';
import { federationRoute } from './auth.js';

/** GET /_matrix/federation/v1/hierarchy/{roomId}: a space of this server's and its children, for another server. */
export function federationHierarchyRoutes(hierarchy: SpaceHierarchy) {
  return async (app: FastifyInstance): Promise<void> => {
    federationRoute(app, getFederationSpaceHierarchy, ({ origin, params, query }) =>
      hierarchy.forServer(origin, params.roomId, query.suggested_only === true));
  };
}
