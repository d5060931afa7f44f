import type { Bus } from './bus.js';
import type { Logger } from './logger.js';

/**
 * "Something about this user changed" between processes, each of which keeps what it knows of users in
 * memory: the announcement half, and the subscription that hands this process what the others announce.
 * A failed announcement is logged (as `what`), never thrown: the write it reports has happened.
 */
export function userNoticesOnBus(bus: Bus, log: Logger, channel: string, what: string, heard: (userId: string) => void) {
  const unsubscribe = bus.subscribe(channel, (message) => {
    if (typeof message.userId === 'string') heard(message.userId);
  });
  return {
    announce: (userId: string): Promise<void> =>
      bus.publish(channel, { userId }).catch((err: unknown) => log.warn({ err, userId }, `could not announce ${what}`)),
    unsubscribe,
  };
}
