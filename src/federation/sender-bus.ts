import type { Bus } from '../platform/bus.js';
import type { Logger } from '../platform/logger.js';
import { EVENTS_CHANNEL, TYPING_CHANNEL } from '../platform/stream-notices.js';
import type { FederationSender } from './sender.js';

/**
 * Feeds the sender from the bus: "events stream advanced" makes it queue new local events, and typing
 * changes (the typing relay carries the change itself) become m.typing EDUs. Returns the unsubscriber.
 */
export function federationSenderOnBus(bus: Bus, sender: FederationSender, log: Logger): () => void {
  const stopEvents = bus.subscribe(EVENTS_CHANNEL, () => sender.eventsAdvanced());
  const stopTyping = bus.subscribe(TYPING_CHANNEL, (message) => {
    const typing = message.typing;
    if (typeof typing !== 'object' || typing === null) return;
    const { roomId, userId, expiresTs } = typing as Record<string, unknown>;
    if (typeof roomId !== 'string' || typeof userId !== 'string') return;
    if (expiresTs !== null && typeof expiresTs !== 'number') return;
    sender.typingChanged(roomId, userId, expiresTs).catch((err: unknown) => log.warn({ err, roomId }, 'could not queue a typing EDU'));
  });
  return () => {
    stopEvents();
    stopTyping();
  };
}
