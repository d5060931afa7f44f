import type { Bus } from './bus.js';
import type { Logger } from './logger.js';
import { userNoticesOnBus } from './user-notices.js';

/** Carries "this account was erased" between processes, each of which keeps the erased users in memory. */
export const ERASURES_CHANNEL = 'users.erased';

/**
 * The announcement half for src/rooms/erasure.ts's registry, and the subscription that adds what other
 * processes announce. A failed announcement is logged: the others learn of the erasure at their next start.
 */
export function erasuresOnBus(bus: Bus, log: Logger, erased: (userId: string) => void) {
  return userNoticesOnBus(bus, log, ERASURES_CHANNEL, 'an erased account', erased);
}
