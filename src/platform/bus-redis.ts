import { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import type { Bus, BusHandler, BusMessage } from './bus.js';
import { encode, Subscribers } from './bus-handlers.js';

export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  readonly url: string;
  readonly log: Logger;
  /** Prepended to every channel so several Hearths can share one Redis. Default `hearth:`. */
  readonly keyPrefix?: string;
}

/**
 * The bus for several processes: Redis pub/sub over two connections, since a connection in subscriber
 * mode cannot publish. ioredis reconnects and re-subscribes by itself; we only log. Messages published
 * while a connection is down are lost, as pub/sub always is.
 */
export async function createRedisBus(options: RedisBusOptions): Promise<Bus> {
  const prefix = options.keyPrefix ?? 'hearth:';
  const log = options.log.child({ component: 'bus', redis: redactUrl(options.url) });
  const name = connectionName(prefix);

  // Publishing fails fast while Redis is away rather than queueing: the caller has already committed
  // to Postgres and must not hang. Subscriptions may queue; ioredis replays them on reconnect.
  const publisher = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: `${name}:pub`,
  });
  const subscriber = new Redis(options.url, { lazyConnect: true, connectionName: `${name}:sub` });
  watchConnection(publisher, 'publisher', log);
  watchConnection(subscriber, 'subscriber', log);

  // connect() itself only says "Connection is closed."; the cause (ECONNREFUSED, auth) comes as 'error'.
  let cause: unknown;
  const noteCause = (err: Error) => {
    cause ??= err;
  };
  publisher.on('error', noteCause);
  subscriber.on('error', noteCause);
  const connected = await Promise.allSettled([publisher.connect(), subscriber.connect()]);
  publisher.off('error', noteCause);
  subscriber.off('error', noteCause);
  const failure = connected.find((result) => result.status === 'rejected');
  if (failure !== undefined) {
    publisher.disconnect();
    subscriber.disconnect();
    cause ??= failure.reason;
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`could not connect to Redis at ${redactUrl(options.url)}: ${detail}`, { cause });
  }

  const subscribers = new Subscribers(log);
  let closed = false;
  // SUBSCRIBE and UNSUBSCRIBE run one after another, so `ready()` can wait for all of them.
  let pending: Promise<void> = Promise.resolve();

  const enqueue = (action: 'subscribe' | 'unsubscribe', channel: string): void => {
    pending = pending
      .then(async () => {
        // Closing drops every subscription with the connection: what was still waiting has nothing to do.
        if (closed) return;
        if (action === 'subscribe') await subscriber.subscribe(prefix + channel);
        else await subscriber.unsubscribe(prefix + channel);
      })
      .then(
        () => undefined,
        (err: unknown) => {
          if (!closed) log.warn({ err, channel }, `redis bus could not ${action}`);
        },
      );
  };

  const ready = async (): Promise<void> => {
    // Loop because a subscribe made while we wait extends the chain.
    for (let seen = pending; ; seen = pending) {
      await seen;
      if (seen === pending) return;
    }
  };

  subscriber.on('message', (prefixed: string, payload: string) => {
    if (!prefixed.startsWith(prefix)) return;
    const channel = prefixed.slice(prefix.length);
    subscribers.deliver(channel, subscribers.current(channel), payload);
  });

  return {
    async publish(channel: string, message: Readonly<BusMessage>): Promise<void> {
      if (closed) throw new Error('the bus is closed');
      const payload = encode(channel, message);
      // A subscribe this process made before publishing must hear the message, as with the memory bus.
      await ready();
      await publisher.publish(prefix + channel, payload);
    },

    subscribe(channel: string, handler: BusHandler): () => void {
      if (closed) throw new Error('the bus is closed');
      const { subscription, first } = subscribers.add(channel, handler);
      if (first) enqueue('subscribe', channel);
      return () => {
        if (subscribers.remove(channel, subscription) && !closed) enqueue('unsubscribe', channel);
      };
    },

    ready,

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      subscribers.clear();
      await Promise.all([quit(publisher), quit(subscriber)]);
    },
  };
}

/** QUIT when connected (lets pending replies arrive); otherwise just stop reconnecting. */
async function quit(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}

/**
 * ioredis emits 'error' on every failed connection attempt; without a listener Node would treat it as
 * unhandled. One warning per outage, then quiet until the connection is back.
 */
function watchConnection(connection: Redis, role: string, log: Logger): void {
  let wasReady = false;
  let healthy = true;
  connection.on('error', (err: Error) => {
    if (healthy) log.warn({ err, role }, 'redis bus connection error; reconnecting');
    else log.debug({ err, role }, 'redis bus connection error');
    healthy = false;
  });
  // Fires only when ioredis will try again, not after close(); a server-side kill raises no 'error'.
  connection.on('reconnecting', () => {
    if (healthy) log.warn({ role }, 'redis bus connection lost; reconnecting');
    healthy = false;
  });
  connection.on('ready', () => {
    if (wasReady) log.info({ role }, 'redis bus reconnected');
    wasReady = true;
    healthy = true;
  });
}

/** CLIENT SETNAME takes printable ASCII without spaces; the prefix names the Hearth in CLIENT LIST. */
function connectionName(prefix: string): string {
  return `${prefix.replace(/[^\x21-\x7e]/g, '_')}bus`;
}

/** The URL without its password, for logs and error messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}
