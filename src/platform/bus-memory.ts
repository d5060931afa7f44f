import { silentLogger, type Logger } from './logger.js';
import type { Bus, BusHandler, BusMessage } from './bus.js';
import { encode, Subscribers } from './bus-handlers.js';

export interface MemoryBusOptions {
  /** Where failing handlers are reported; pass the real logger outside tests. */
  readonly log?: Logger;
}

/** The bus for a single process: delivery on a microtask, the same JSON round trip as Redis. */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const subscribers = new Subscribers(options.log ?? silentLogger());
  let closed = false;

  return {
    async publish(channel: string, message: Readonly<BusMessage>): Promise<void> {
      if (closed) throw new Error('the bus is closed');
      const payload = encode(channel, message);
      const targets = subscribers.current(channel);
      if (targets.length > 0) queueMicrotask(() => subscribers.deliver(channel, targets, payload));
    },

    subscribe(channel: string, handler: BusHandler): () => void {
      if (closed) throw new Error('the bus is closed');
      const { subscription } = subscribers.add(channel, handler);
      return () => {
        subscribers.remove(channel, subscription);
      };
    },

    async ready(): Promise<void> {},

    async close(): Promise<void> {
      closed = true;
      subscribers.clear();
    },
  };
}
