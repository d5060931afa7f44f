import type { Clock, Random } from '../platform/clock.js';
import { MatrixError, parseUserId, type ServerName, type UserId } from '../protocol/index.js';
import type { OpenIdTokenStore, Requester } from './ports.js';
import { hashAccessToken, newAccessToken } from './tokens.js';

/**
 * OpenID tokens: a user proves their identity to a third party (an integration manager, a widget) by
 * handing it a short-lived token that the third party exchanges at this server's federation API for
 * the user id, and for nothing else. Synapse's lifetime of an hour.
 */
export const OPENID_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

export interface OpenIdDeps {
  readonly store: OpenIdTokenStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly serverName: ServerName;
}

export interface OpenIdToken {
  readonly accessToken: string;
  readonly expiresInMs: number;
  readonly serverName: ServerName;
}

export function createOpenIdTokens(deps: OpenIdDeps) {
  const { store, clock, random, serverName } = deps;

  return {
    /** POST /user/{userId}/openid/request_token: only for yourself. */
    async request(requester: Requester, userId: string): Promise<OpenIdToken> {
      if (parseUserId(userId) !== requester.userId) {
        throw new MatrixError('M_FORBIDDEN', 'You can only request OpenID tokens for yourself');
      }
      const now = clock.now();
      await store.deleteOpenIdTokensBefore(now);
      const accessToken = newAccessToken(random);
      await store.addOpenIdToken(hashAccessToken(accessToken), requester.userId, now + OPENID_TOKEN_LIFETIME_MS);
      return { accessToken, expiresInMs: OPENID_TOKEN_LIFETIME_MS, serverName };
    },

    /** GET /_matrix/federation/v1/openid/userinfo: whose the token is; 401 for a missing, unknown or expired one. */
    async userInfo(accessToken: string | undefined): Promise<UserId> {
      if (accessToken === undefined || accessToken === '') {
        throw new MatrixError('M_MISSING_TOKEN', 'The access_token query parameter (an OpenID token) is required');
      }
      const owner = await store.openIdTokenOwner(hashAccessToken(accessToken), clock.now());
      if (owner === undefined) throw new MatrixError('M_UNKNOWN_TOKEN', 'The OpenID token is unknown or has expired');
      return owner;
    },
  };
}

export type OpenIdTokens = ReturnType<typeof createOpenIdTokens>;
