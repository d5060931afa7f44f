import type { Bus } from './bus.js';
import type { Logger } from './logger.js';

/** Carries "this account was erased" between processes, each of which keeps the erased users in memory. */
export const ERASURES_CHANNEL = 'users.erased';

/**
 * The announcement half for src/rooms/erasure.ts's registry, and the subscription that adds what other
 * processes announce. A failed announcement is logged: the others learn of the erasure at their next start.
 */
export function erasuresOnBus(bus: Bus, log: Logger, erased: (userId: string) => void) {
  const unsubscribe = bus.subscribe(ERASURES_CHANNEL, (message) => {
    if (typeof message.userId === 'string') erased(message.userId);
  });
  return {
    announce: (userId: string): Promise<void> =>
      bus.publish(ERASURES_CHANNEL, { userId }).catch((err: unknown) => log.warn({ err, userId }, 'could not announce an erased account')),
    unsubscribe,
  };
}
