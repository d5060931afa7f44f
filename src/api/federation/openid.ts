import type { FastifyInstance } from 'fastify';
import { getOpenIdUserInfo } from '../../protocol/endpoints/openid.js';
import type { OpenIdTokens } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** GET /_matrix/federation/v1/openid/userinfo: a third party trades an OpenID token for the user id. */
export function openIdUserInfoRoutes(openId: Pick<OpenIdTokens, 'userInfo'>) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getOpenIdUserInfo, async ({ query }) => ({ sub: await openId.userInfo(query.access_token) }));
  };
}
