import type { FastifyInstance } from 'fastify';
import { sync } from '../../protocol/endpoints/sync.js';
import type { SyncService } from '../../sync/index.js';
import { untilHangUp } from '../plumbing/hang-up.js';
import { route } from '../plumbing/route.js';

/** GET /sync: long-polls until something changes for the user or the timeout passes. */
export function syncRoutes(service: SyncService) {
  return async (app: FastifyInstance): Promise<void> => {
    // A client that hangs up ends its long-poll.
    route(app, sync, ({ requester, query, request }) =>
      untilHangUp(request, (hangUp) =>
        service.sync(requester, {
          since: query.since,
          timeoutMs: query.timeout,
          fullState: query.full_state,
          filter: query.filter,
          setPresence: query.set_presence,
          // Asked by MSC4222's unstable name, the answer uses its name too (matrix-js-sdk reads only that one).
          useStateAfter: query.use_state_after ? 'state_after' : query['org.matrix.msc4222.use_state_after'] ? 'org.matrix.msc4222.state_after' : false,
          hangUp,
        })));
  };
}
