/**
 * The bus carries small notices between Hearth processes ("events stream advanced to 42", "drop the
 * cached power levels of !room"). It never carries data: readers fetch rows from Postgres after a
 * notice. One process uses the in-process bus; several share Redis pub/sub.
 *
 * Both implementations behave the same way: messages are JSON (so positions travel as strings, not
 * bigints), handlers run asynchronously and never inside `publish`, the publishing process hears its
 * own messages, a handler that throws is logged and does not stop the others, and delivery is
 * at-most-once: a process that was disconnected must re-read positions rather than trust it heard all.
 */
export type BusMessage = Record<string, unknown>;
export type BusHandler = (message: BusMessage) => void;

export interface Bus {
  /** Rejects if the message is not JSON-serialisable, the bus is closed, or Redis cannot be reached. */
  publish(channel: string, message: Readonly<BusMessage>): Promise<void>;
  /** Returns the function that unsubscribes this handler (calling it twice is harmless). */
  subscribe(channel: string, handler: BusHandler): () => void;
  /**
   * Resolves when every subscribe and unsubscribe made so far is in effect, so a message another process
   * publishes from then on is heard. Publishing from this process waits for it by itself.
   */
  ready(): Promise<void>;
  /** Stops delivery and releases connections; later publish and subscribe calls fail. */
  close(): Promise<void>;
}

export { createMemoryBus, type MemoryBusOptions } from './bus-memory.js';
export { createRedisBus, type RedisBusOptions } from './bus-redis.js';
