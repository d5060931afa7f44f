import type { FastifyInstance } from 'fastify';
import { exchangeThirdPartyInvite, onBindThirdPartyIdentifier, onBindThirdPartyIdentifierPost } from '../../protocol/endpoints/federation-membership.js';
import type { ThirdPartyInvites } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';
import { federationRoute } from './auth.js';

/** Third-party invites between servers: identity servers' /3pid/onbind, and /exchange_third_party_invite. */
export function thirdPartyInviteRoutes(invites: ThirdPartyInvites) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, onBindThirdPartyIdentifier, async ({ body }) => {
      await invites.onBind(body);
      return {};
    });
    route(app, onBindThirdPartyIdentifierPost, async ({ body }) => {
      await invites.onBind(body);
      return {};
    });
    federationRoute(app, exchangeThirdPartyInvite, async ({ params, body }) => {
      await invites.exchange(params.roomId, body);
      return {};
    });
  };
}
