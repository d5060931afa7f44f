import type { RoomNotifier } from '../rooms/index.js';
import type { Bus } from './bus.js';
import type { Logger } from './logger.js';

/** The bus channel on which "the events stream advanced" travels. */
export const EVENTS_CHANNEL = 'stream.events';

export interface EventsAdvanced {
  readonly roomId: string;
  /** A decimal string: bus messages are JSON, and positions are bigints in the database. */
  readonly position: string;
}

/**
 * The room server's notifier on the bus: every process (this one included) hears that the events
 * stream reached a position and reads the rows from the database itself. A failed publish is logged;
 * the write it reports has committed, and readers catch up at their next read.
 */
export function roomNotifierOnBus(bus: Bus, log: Logger): RoomNotifier {
  return {
    eventsPersisted(roomId, streamPosition) {
      const notice: EventsAdvanced = { roomId, position: String(streamPosition) };
      bus.publish(EVENTS_CHANNEL, { ...notice }).catch((err: unknown) => log.warn({ err, roomId }, 'could not publish events position'));
    },
  };
}
