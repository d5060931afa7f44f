import type { FastifyInstance } from 'fastify';
import { requestOpenIdToken } from '../../protocol/endpoints/openid.js';
import type { OpenIdTokens } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** OpenID tokens: the client asks for one (a third party trades it at api/federation/openid.ts). */
export function openIdRoutes(openId: OpenIdTokens) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, requestOpenIdToken, async ({ requester, params }) => {
      const token = await openId.request(requester, params.userId);
      return {
        access_token: token.accessToken,
        token_type: 'Bearer' as const,
        matrix_server_name: token.serverName,
        expires_in: Math.floor(token.expiresInMs / 1000),
      };
    });
  };
}
