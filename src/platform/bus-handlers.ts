import type { Logger } from './logger.js';
import type { BusHandler, BusMessage } from './bus.js';

/** One handler's place on a channel; `active` goes false on unsubscribe so queued deliveries skip it. */
export interface Subscription {
  readonly handler: BusHandler;
  active: boolean;
}

/**
 * The handler table both buses share: who listens on which channel, and delivery that gives each
 * handler its own copy of the message and keeps one handler's failure from reaching the others.
 */
export class Subscribers {
  readonly #byChannel = new Map<string, Set<Subscription>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** `first` is true when the channel had no handler before, i.e. the transport must start listening. */
  add(channel: string, handler: BusHandler): { subscription: Subscription; first: boolean } {
    let set = this.#byChannel.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#byChannel.set(channel, set);
    }
    const subscription: Subscription = { handler, active: true };
    set.add(subscription);
    return { subscription, first };
  }

  /** True when that was the channel's last handler, i.e. the transport may stop listening. */
  remove(channel: string, subscription: Subscription): boolean {
    if (!subscription.active) return false;
    subscription.active = false;
    const set = this.#byChannel.get(channel);
    if (set === undefined) return false;
    set.delete(subscription);
    if (set.size > 0) return false;
    this.#byChannel.delete(channel);
    return true;
  }

  /** The handlers listening now; delivery later skips any that unsubscribed in between. */
  current(channel: string): readonly Subscription[] {
    const set = this.#byChannel.get(channel);
    return set === undefined ? [] : [...set];
  }

  clear(): void {
    for (const set of this.#byChannel.values()) for (const subscription of set) subscription.active = false;
    this.#byChannel.clear();
  }

  /** Decodes `payload` afresh for each handler, so no handler sees another's mutations. */
  deliver(channel: string, targets: readonly Subscription[], payload: string): void {
    for (const subscription of targets) {
      if (!subscription.active) continue;
      const message = decode(payload);
      if (message === undefined) {
        this.#log.warn({ channel, bytes: payload.length }, 'bus message is not a JSON object; dropped');
        return;
      }
      try {
        const result: unknown = subscription.handler(message);
        // An async handler's rejection would otherwise be unhandled and stop the process.
        if (isThenable(result)) result.then(undefined, (err: unknown) => this.#handlerFailed(channel, err));
      } catch (err) {
        this.#handlerFailed(channel, err);
      }
    }
  }

  #handlerFailed(channel: string, err: unknown): void {
    this.#log.error({ err, channel }, 'bus handler failed');
  }
}

/** JSON-encodes a message; throws a TypeError naming the channel for what JSON cannot carry. */
export function encode(channel: string, message: Readonly<BusMessage>): string {
  try {
    return JSON.stringify(message);
  } catch (err) {
    throw new TypeError(`bus message for '${channel}' is not JSON-serialisable (send bigints as strings)`, {
      cause: err,
    });
  }
}

function decode(payload: string): BusMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as BusMessage) : undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
