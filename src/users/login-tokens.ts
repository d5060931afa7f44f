import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { MatrixError, type UserId } from '../protocol/index.js';
import type { PasswordHasher } from './passwords.js';
import { passwordStage } from './password-stage.js';
import type { AccountStore, LoginTokenStore, Requester } from './ports.js';
import { hashAccessToken, newAccessToken } from './tokens.js';
import type { AuthDict, Flow, Uia } from './uia.js';

/**
 * Login tokens (client-server API, POST /login/get_token and m.login.token): a logged-in user confirms
 * with their password and gets a token that logs one more device in as them (QR-code login). A token
 * works once and for a short while; only its hash is stored.
 */

export const GET_LOGIN_TOKEN_FLOWS: readonly Flow[] = [['m.login.password']];

/** The spec's recommended lifetime: two minutes. */
export const DEFAULT_LOGIN_TOKEN_LIFETIME_MS = 2 * 60 * 1000;

export interface LoginTokenDeps {
  readonly store: LoginTokenStore;
  /** For the password stage. */
  readonly accounts: Pick<AccountStore, 'user'>;
  readonly uia: Uia;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly lifetimeMs?: number;
}

export interface LoginToken {
  readonly loginToken: string;
  readonly expiresInMs: number;
}

export function createLoginTokens(deps: LoginTokenDeps) {
  const { store, uia, clock, random, log } = deps;
  const lifetimeMs = deps.lifetimeMs ?? DEFAULT_LOGIN_TOKEN_LIFETIME_MS;

  async function mint(userId: UserId, lifetime = lifetimeMs): Promise<LoginToken> {
    const now = clock.now();
    await store.deleteLoginTokensBefore(now);
    const loginToken = newAccessToken(random);
    await store.addLoginToken(hashAccessToken(loginToken), userId, now, now + lifetime);
    return { loginToken, expiresInMs: lifetime };
  }

  return {
    /**
     * POST /login/get_token. The spec asks for explicit consent each time, so the UIA session is used up:
     * every token costs the password once.
     */
    async issue(requester: Requester, auth: AuthDict | undefined): Promise<LoginToken> {
      const sessionId = await uia.check('POST /login/get_token', GET_LOGIN_TOKEN_FLOWS, auth, {
        'm.login.password': passwordStage({ store: deps.accounts, passwords: deps.passwords }, requester.userId),
      });
      await uia.take(sessionId);
      const token = await mint(requester.userId);
      log.info({ userId: requester.userId, deviceId: requester.deviceId }, 'login token issued');
      return token;
    },

    /**
     * A token for `userId` without asking anything: for callers that have proved who the user is another way
     * (single sign-on). Lives `lifetime` (default: the configured one).
     */
    mint,

    /** The user an m.login.token login is for; the token is spent. M_FORBIDDEN for any token that does not work. */
    async redeem(token: string): Promise<UserId> {
      const userId = await store.takeLoginToken(hashAccessToken(token), clock.now());
      if (userId === undefined) {
        throw new MatrixError('M_FORBIDDEN', 'The login token is unknown, expired or already used; ask for a new one');
      }
      return userId;
    },
  };
}

export type LoginTokens = ReturnType<typeof createLoginTokens>;
