import type { FastifyInstance } from 'fastify';
import { sync } from '../../protocol/endpoints/sync.js';
import type { SyncService } from '../../sync/index.js';
import { route } from '../plumbing/route.js';

/** GET /sync: long-polls until something changes for the user or the timeout passes. */
export function syncRoutes(service: SyncService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, sync, async ({ requester, query, request }) => {
      // A client that hangs up ends its long-poll; the socket outlives the request with keep-alive, so
      // the listener goes when the request is answered.
      const gone = new AbortController();
      const socket = request.raw.socket;
      const hangUp = () => gone.abort();
      socket.once('close', hangUp);
      try {
        return await service.sync(requester, {
          since: query.since,
          timeoutMs: query.timeout,
          fullState: query.full_state,
          filter: query.filter,
          setPresence: query.set_presence,
          useStateAfter: query.use_state_after || query['org.matrix.msc4222.use_state_after'],
          signal: gone.signal,
        });
      } finally {
        socket.off('close', hangUp);
      }
    });
  };
}
