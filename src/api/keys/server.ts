import type { FastifyInstance } from 'fastify';
import { getServerKey, getServerKeyById } from '../../protocol/endpoints/keys.js';
import type { ServerKeysService } from '../../federation/index.js';
import { route } from '../plumbing/route.js';

export function serverKeyRoutes(keys: ServerKeysService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getServerKey, () => keys.serverKeys());
    route(app, getServerKeyById, () => keys.serverKeys());
  };
}
