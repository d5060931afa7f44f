import type { Bus } from '../platform/bus.js';
import type { Logger } from '../platform/logger.js';
import { EVENTS_CHANNEL, TYPING_CHANNEL } from '../platform/stream-notices.js';
import type { FederationSender } from './sender.js';

/** Work queued (or a destination heard from) in a process that does not send: `{ destinations, reachable? }`. */
export const FEDERATION_QUEUED_CHANNEL = 'federation.queued';

/** The sender's `announce`: publishes on FEDERATION_QUEUED_CHANNEL for the sending process. */
export function announceQueuedOnBus(bus: Bus, log: Logger) {
  return (notice: { readonly destinations: readonly string[]; readonly reachable?: boolean }): void => {
    bus
      .publish(FEDERATION_QUEUED_CHANNEL, { destinations: [...notice.destinations], ...(notice.reachable ? { reachable: true } : {}) })
      .catch((err: unknown) => log.warn({ err }, 'could not announce queued federation work'));
  };
}

/**
 * Feeds the sender from the bus: "events stream advanced" makes it queue new local events, typing changes
 * (the typing relay carries the change itself) become m.typing EDUs, and work other processes queued is
 * sent. Only the sending process acts on them. Returns the unsubscriber.
 */
export function federationSenderOnBus(bus: Bus, sender: FederationSender, log: Logger): () => void {
  const stopEvents = bus.subscribe(EVENTS_CHANNEL, (message) => {
    const position = typeof message.position === 'string' ? Number(message.position) : NaN;
    sender.eventsAdvanced(Number.isSafeInteger(position) ? position : undefined);
  });
  const stopQueued = bus.subscribe(FEDERATION_QUEUED_CHANNEL, (message) => {
    const { destinations, reachable } = message as { destinations?: unknown; reachable?: unknown };
    if (!Array.isArray(destinations)) return;
    const named = destinations.filter((d): d is string => typeof d === 'string');
    sender.nudge(named, reachable === true).catch((err: unknown) => log.warn({ err }, 'could not send work queued elsewhere'));
  });
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
    stopQueued();
    stopTyping();
  };
}
