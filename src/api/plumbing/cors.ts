import type { FastifyInstance } from 'fastify';

/** The headers the spec recommends on every reply, so browser clients can call any endpoint. */
export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'X-Requested-With, Content-Type, Authorization',
} as const;

/**
 * Every reply carries the CORS headers, errors included. A pre-flight OPTIONS request is answered
 * before routing so that no endpoint logic runs for it, as the spec requires.
 */
export function installCors(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(CORS_HEADERS);
    if (request.method === 'OPTIONS') return reply.code(204).send();
    return undefined;
  });
}
