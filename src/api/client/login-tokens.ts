import type { FastifyInstance } from 'fastify';
import { generateLoginToken } from '../../protocol/endpoints/accounts.js';
import type { LoginTokens } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** POST /login/get_token, mounted only where login_via_existing_session is on (elsewhere: 404 M_UNRECOGNIZED). */
export function loginTokenRoutes(loginTokens: LoginTokens) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, generateLoginToken, async ({ requester, body }) => {
      const token = await loginTokens.issue(requester, body.auth);
      return { login_token: token.loginToken, expires_in_ms: token.expiresInMs };
    });
  };
}
