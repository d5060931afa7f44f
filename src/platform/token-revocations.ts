import type { Bus } from './bus.js';
import type { Logger } from './logger.js';
import { userNoticesOnBus } from './user-notices.js';

/** Carries "this user's access tokens changed" between processes, whose token caches then forget them. */
export const TOKENS_CHANNEL = 'users.tokens';

/**
 * The announcement half for src/users/token-cache.ts, and the subscription that makes this process forget
 * what others announce. A failed announcement is logged: the other processes' entries then expire by age.
 */
export function tokenRevocationsOnBus(bus: Bus, log: Logger, forgetUser: (userId: string) => void) {
  return userNoticesOnBus(bus, log, TOKENS_CHANNEL, 'a token revocation', forgetUser);
}
