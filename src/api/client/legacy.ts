import type { FastifyInstance } from 'fastify';
import { getEvents, initialSync, roomInitialSync } from '../../protocol/endpoints/legacy.js';
import type { LegacySync } from '../../sync/index.js';
import { untilHangUp } from '../plumbing/hang-up.js';
import { route } from '../plumbing/route.js';

/** The v1 event stream and snapshots (deprecated; Synapse and sytest still use them). */
export function legacyRoutes(legacy: LegacySync) {
  return async (app: FastifyInstance): Promise<void> => {
    // As /sync: a client that hangs up ends its long-poll.
    route(app, getEvents, ({ requester, query, request }) =>
      untilHangUp(request, (hangUp) =>
        // An empty `from` is no token, as Synapse reads it (sytest's first poll sends one).
        legacy.events(requester, { from: query.from === '' ? undefined : query.from, timeoutMs: query.timeout, roomId: query.room_id, limit: query.limit, hangUp })));
    route(app, initialSync, ({ requester, query }) => legacy.initialSync(requester, { limit: query.limit, archived: query.archived }));
    route(app, roomInitialSync, ({ requester, params, query }) => legacy.roomInitialSync(requester, params.roomId, { limit: query.limit }));
  };
}
