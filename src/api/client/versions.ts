import type { FastifyInstance } from 'fastify';
import { getVersions } from '../../protocol/endpoints/discovery.js';
import { SUPPORTED_CLIENT_VERSIONS, UNSTABLE_FEATURES } from '../../protocol/versions.js';
import { route } from '../plumbing/route.js';

export async function versionsRoutes(app: FastifyInstance): Promise<void> {
  route(app, getVersions, () => ({
    versions: [...SUPPORTED_CLIENT_VERSIONS],
    unstable_features: { ...UNSTABLE_FEATURES },
  }));
}
