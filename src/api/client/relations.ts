import type { FastifyInstance } from 'fastify';
import {
  getRelatingEvents,
  getRelatingEventsWithRelType,
  getRelatingEventsWithRelTypeAndEventType,
  getThreadRoots,
} from '../../protocol/endpoints/relations.js';
import type { ClientRooms } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

interface RelationsQueryParams {
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly dir?: 'b' | 'f';
  readonly recurse?: boolean;
}

/** The query as the service takes it: absent parameters stay absent. */
function relationsQuery(query: RelationsQueryParams, relType?: string, eventType?: string) {
  return {
    ...(query.from === undefined ? {} : { from: query.from }),
    ...(query.to === undefined ? {} : { to: query.to }),
    ...(query.limit === undefined ? {} : { limit: query.limit }),
    ...(query.dir === undefined ? {} : { dir: query.dir }),
    ...(query.recurse === undefined ? {} : { recurse: query.recurse }),
    ...(relType === undefined ? {} : { relType }),
    ...(eventType === undefined ? {} : { eventType }),
  };
}

/** Relations and threads: a parent's children (/relations) and a room's thread roots (/threads). */
export function relationsRoutes(rooms: ClientRooms) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getRelatingEvents, ({ requester, params, query }) =>
      rooms.relations(requester, params.roomId, params.eventId, relationsQuery(query)));
    route(app, getRelatingEventsWithRelType, ({ requester, params, query }) =>
      rooms.relations(requester, params.roomId, params.eventId, relationsQuery(query, params.relType)));
    route(app, getRelatingEventsWithRelTypeAndEventType, ({ requester, params, query }) =>
      rooms.relations(requester, params.roomId, params.eventId, relationsQuery(query, params.relType, params.eventType)));
    route(app, getThreadRoots, ({ requester, params, query }) =>
      rooms.threads(requester, params.roomId, {
        ...(query.include === undefined ? {} : { include: query.include }),
        ...(query.from === undefined ? {} : { from: query.from }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
      }));
  };
}
