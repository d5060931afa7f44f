import type { RoomNotifier } from '../rooms/index.js';
import type { StreamNotice, StreamNotifier, TypingNotice, TypingRelay } from '../ephemeral/index.js';
import type { StreamName } from '../protocol/stream-token.js';
import type { Bus } from './bus.js';
import type { Logger } from './logger.js';

/** The bus channel on which "the events stream advanced" travels. */
export const EVENTS_CHANNEL = 'stream.events';

export interface EventsAdvanced {
  readonly roomId: string;
  /** A decimal string: bus messages are JSON, and positions are bigints in the database. */
  readonly position: string;
  /** Users whose membership the events set (see RoomNotifier). */
  readonly users?: readonly string[];
}

/**
 * The room server's notifier on the bus: every process (this one included) hears that the events
 * stream reached a position and reads the rows from the database itself. A failed publish is logged;
 * the write it reports has committed, and readers catch up at their next read.
 */
export function roomNotifierOnBus(bus: Bus, log: Logger): RoomNotifier {
  return {
    eventsPersisted(roomId, streamPosition, members = []) {
      const notice: EventsAdvanced = { roomId, position: String(streamPosition), ...(members.length > 0 ? { users: [...members] } : {}) };
      bus.publish(EVENTS_CHANNEL, { ...notice }).catch((err: unknown) => log.warn({ err, roomId }, 'could not publish events position'));
    },
  };
}

/** The bus channel on which a stream's advances travel: `stream.<name>`, name as in STREAMS. */
export function streamChannel(stream: StreamName): string {
  return `stream.${stream}`;
}

export const RECEIPTS_CHANNEL = streamChannel('receipts');
export const TYPING_CHANNEL = streamChannel('typing');
export const TO_DEVICE_CHANNEL = streamChannel('toDevice');
export const PRESENCE_CHANNEL = streamChannel('presence');

/** A notice on a `stream.<name>` channel (the typing stream's also carries `typing`: see typingRelayOnBus). */
export interface StreamAdvanced {
  /** A decimal string, as for the events stream. */
  readonly position: string;
  /** Room-scoped changes: the rooms whose readers should look again. */
  readonly rooms?: string[];
  /** User-scoped changes: to-device recipients, or the user whose presence changed. */
  readonly users?: string[];
}

function advanced(notice: StreamNotice): StreamAdvanced {
  return {
    position: String(notice.position),
    ...(notice.rooms ? { rooms: [...notice.rooms] } : {}),
    ...(notice.users ? { users: [...notice.users] } : {}),
  };
}

/** Publishes "stream X advanced"; a failed publish is logged, as the write it reports has committed. */
export function publishStreamNotice(bus: Bus, log: Logger, stream: StreamName, notice: StreamNotice): void {
  bus.publish(streamChannel(stream), { ...advanced(notice) })
    .catch((err: unknown) => log.warn({ err, stream }, 'could not publish stream position'));
}

/** A service's notifier for one stream, on the bus. */
export function streamNotifierOnBus(bus: Bus, log: Logger, stream: StreamName): StreamNotifier {
  return (notice) => publishStreamNotice(bus, log, stream, notice);
}

/**
 * The typing service's relay. Typing lives in memory, so each notice also carries the change itself
 * (`typing`: { roomId, userId, expiresTs }) and `origin`, this process's id, so that a process applies
 * only the changes other processes made (it hears its own too, and must not apply them twice). The bus
 * runs a message's handlers in one synchronous pass, so a /sync woken by the same message reads the typing
 * service after it applied the change.
 */
export function typingRelayOnBus(bus: Bus, log: Logger, origin: string): TypingRelay & { readonly origin: string } {
  return {
    origin,
    publish(notice: TypingNotice) {
      const message = { ...advanced(notice), origin, ...(notice.update ? { typing: { ...notice.update } } : {}) };
      bus.publish(TYPING_CHANNEL, message).catch((err: unknown) => log.warn({ err }, 'could not publish typing'));
    },
    subscribe(handler) {
      return bus.subscribe(TYPING_CHANNEL, (message) => {
        if (message.origin === origin) return;
        const notice = typingNotice(message);
        if (notice === undefined) log.warn({ channel: TYPING_CHANNEL }, 'ignored a malformed typing notice');
        else handler(notice);
      });
    },
  };
}

function typingNotice(message: Readonly<Record<string, unknown>>): TypingNotice | undefined {
  const position = typeof message.position === 'string' ? Number(message.position) : NaN;
  if (!Number.isSafeInteger(position)) return undefined;
  const typing = message.typing;
  if (typing === undefined) return { position };
  if (typeof typing !== 'object' || typing === null) return undefined;
  const { roomId, userId, expiresTs } = typing as Record<string, unknown>;
  if (typeof roomId !== 'string' || typeof userId !== 'string') return undefined;
  if (expiresTs !== null && typeof expiresTs !== 'number') return undefined;
  return { position, rooms: [roomId], update: { roomId, userId, expiresTs } };
}
