import type { FastifyInstance } from 'fastify';
import { getEvents, initialSync, roomInitialSync } from '../../protocol/endpoints/legacy.js';
import type { LegacySync } from '../../sync/index.js';
import { route } from '../plumbing/route.js';

/** The v1 event stream and snapshots (deprecated; Synapse and sytest still use them). */
export function legacyRoutes(legacy: LegacySync) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getEvents, async ({ requester, query, request }) => {
      // As /sync: a client that hangs up ends its long-poll.
      const gone = new AbortController();
      const socket = request.raw.socket;
      const hangUp = () => gone.abort();
      socket.once('close', hangUp);
      try {
        return await legacy.events(requester, {
          from: query.from,
          timeoutMs: query.timeout,
          roomId: query.room_id,
          limit: query.limit,
          signal: gone.signal,
        });
      } finally {
        socket.off('close', hangUp);
      }
    });
    route(app, initialSync, ({ requester, query }) => legacy.initialSync(requester, { limit: query.limit, archived: query.archived }));
    route(app, roomInitialSync, ({ requester, params, query }) => legacy.roomInitialSync(requester, params.roomId, { limit: query.limit }));
  };
}
