import type { FastifyInstance } from 'fastify';
import { bindThreepid, deleteThreepid, unbindThreepid } from '../../protocol/endpoints/accounts.js';
import type { ThreepidBindings } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** The account's third-party identifiers at identity servers: bind, unbind, delete. */
export function threepidRoutes(bindings: ThreepidBindings) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, bindThreepid, async ({ requester, body }) => {
      await bindings.bind(requester.userId, { idServer: body.id_server, idAccessToken: body.id_access_token, sid: body.sid, clientSecret: body.client_secret });
      return {};
    });
    route(app, unbindThreepid, async ({ requester, body }) => ({
      id_server_unbind_result: await bindings.unbind(requester.userId, { medium: body.medium, address: body.address }, body.id_server),
    }));
    route(app, deleteThreepid, async ({ requester, body }) => ({
      id_server_unbind_result: await bindings.delete(requester.userId, { medium: body.medium, address: body.address }, body.id_server),
    }));
  };
}
