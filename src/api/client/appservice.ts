import type { FastifyInstance } from 'fastify';
import type { AppServiceQueries } from '../../appservice/index.js';
import { appservicePing } from '../../protocol/endpoints/appservice.js';
import { route } from '../plumbing/route.js';

/** The application services' own client-server endpoints: the ping. */
export function appServiceRoutes(queries: AppServiceQueries) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, appservicePing, ({ requester, params, body }) => queries.ping(requester.appservice.id, params.appserviceId, body.transaction_id));
  };
}
