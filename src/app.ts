import type { FastifyInstance } from 'fastify';
import type { ServerKeysService } from './federation/index.js';
import { createHttpApp, type HttpAppOptions } from './api/plumbing/http-app.js';
import { versionsRoutes } from './api/client/versions.js';
import { federationVersionRoutes } from './api/federation/version.js';
import { serverKeyRoutes } from './api/keys/server.js';
import { wellKnownRoutes, type WellKnownOptions } from './api/well-known.js';

export interface AppDeps extends HttpAppOptions {
  readonly version: string;
  readonly serverKeys: ServerKeysService;
  readonly wellKnown: WellKnownOptions;
}

/** The Fastify app with every API mounted. server.ts listens with it; tests drive it with inject(). */
export function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  return createHttpApp(deps, async (app) => {
    await app.register(versionsRoutes);
    await app.register(federationVersionRoutes(deps.version));
    await app.register(serverKeyRoutes(deps.serverKeys));
    await app.register(wellKnownRoutes(deps.wellKnown));
  });
}
