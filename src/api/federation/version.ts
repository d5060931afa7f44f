import type { FastifyInstance } from 'fastify';
import { getFederationVersion } from '../../protocol/endpoints/federation.js';
import { SERVER_SOFTWARE_NAME } from '../../protocol/versions.js';
import { route } from '../plumbing/route.js';

export function federationVersionRoutes(version: string) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getFederationVersion, () => ({ server: { name: SERVER_SOFTWARE_NAME, version } }));
  };
}
