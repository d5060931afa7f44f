import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { createMemoryBus, createRedisBus, type Bus, type BusMessage } from '../../src/platform/bus.js';
import type { Logger } from '../../src/platform/logger.js';

/**
 * One contract, two transports: everything here must hold for the in-process bus and for Redis, so a
 * deployment can switch between them without a behaviour change.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface CapturedLog {
  readonly log: Logger;
  readonly lines: Array<{ level: number; msg: string; channel?: string }>;
}

function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as CapturedLog['lines'][number]);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Collects what a channel receives; `waitFor(n)` resolves once n messages are in. */
function collect(bus: Bus, channel: string) {
  const received: BusMessage[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = bus.subscribe(channel, (message) => {
    received.push(message);
    wake?.();
  });
  const waitFor = async (count: number, timeoutMs = 2000): Promise<BusMessage[]> => {
    const deadline = Date.now() + timeoutMs;
    while (received.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} messages on '${channel}', got ${received.length}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 20);
      });
    }
    return received;
  };
  return { received, waitFor, unsubscribe };
}

type BusFactory = (log: Logger) => Promise<Bus>;

function contract(t: Test, makeBus: BusFactory): void {
  // A fresh channel name per test keeps parallel runs on a shared Redis apart.
  const unique = (name: string) => `${name}-${process.pid}-${Math.random().toString(36).slice(2)}`;

  const withBus = async (fn: (bus: Bus, captured: CapturedLog) => Promise<void>) => {
    const captured = captureLog();
    const bus = await makeBus(captured.log);
    try {
      await fn(bus, captured);
    } finally {
      await bus.close();
    }
  };

  t.test('a subscriber receives what is published, JSON round-tripped, including its own process', (t) =>
    withBus(async (bus) => {
      const channel = unique('stream');
      const inbox = collect(bus, channel);
      const message = { stream: 'events', position: '9007199254740993', nested: { list: [1, 'two', null] }, flag: true };
      await bus.publish(channel, message);
      const [got] = await inbox.waitFor(1);
      t.same(got, message);
      t.not(got, message, 'a copy, not the publisher object');
    }));

  t.test('delivery never happens inside publish', (t) =>
    withBus(async (bus) => {
      const channel = unique('async');
      const inbox = collect(bus, channel);
      const publishing = bus.publish(channel, { n: 1 });
      t.equal(inbox.received.length, 0, 'nothing delivered synchronously');
      await publishing;
      await inbox.waitFor(1);
    }));

  t.test('every handler on a channel gets its own copy; other channels get nothing', (t) =>
    withBus(async (bus) => {
      const channel = unique('shared');
      const mutator = bus.subscribe(channel, (message) => {
        message.position = 'changed';
      });
      const first = collect(bus, channel);
      const second = collect(bus, channel);
      const elsewhere = collect(bus, unique('other'));
      await bus.publish(channel, { position: '1' });
      t.same(await first.waitFor(1), [{ position: '1' }]);
      t.same(await second.waitFor(1), [{ position: '1' }], 'a mutating handler does not affect the others');
      t.equal(elsewhere.received.length, 0);
      mutator();
    }));

  t.test('messages on a channel arrive in publish order', (t) =>
    withBus(async (bus) => {
      const channel = unique('order');
      const inbox = collect(bus, channel);
      await Promise.all(Array.from({ length: 50 }, (_, n) => bus.publish(channel, { n })));
      const got = await inbox.waitFor(50);
      t.same(got.map((message) => message.n), Array.from({ length: 50 }, (_, n) => n));
    }));

  t.test('unsubscribe stops delivery, even of a message already on its way', (t) =>
    withBus(async (bus) => {
      const channel = unique('unsub');
      const leaving = collect(bus, channel);
      const staying = collect(bus, channel);
      await bus.publish(channel, { n: 1 });
      await leaving.waitFor(1);
      const inFlight = bus.publish(channel, { n: 2 });
      leaving.unsubscribe();
      leaving.unsubscribe(); // harmless twice
      await inFlight;
      await bus.publish(channel, { n: 3 });
      await staying.waitFor(3);
      t.same(leaving.received, [{ n: 1 }], 'nothing after unsubscribe');
      t.same(staying.received, [{ n: 1 }, { n: 2 }, { n: 3 }], 'the other handler keeps receiving');
    }));

  t.test('a throwing handler is logged and does not stop the others', (t) =>
    withBus(async (bus, captured) => {
      const channel = unique('throws');
      bus.subscribe(channel, () => {
        throw new Error('handler bug');
      });
      bus.subscribe(channel, async () => {
        throw new Error('async handler bug');
      });
      const inbox = collect(bus, channel);
      await bus.publish(channel, { n: 1 });
      await bus.publish(channel, { n: 2 });
      t.same(await inbox.waitFor(2), [{ n: 1 }, { n: 2 }]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      const failures = captured.lines.filter((line) => line.msg === 'bus handler failed');
      t.equal(failures.length, 4, 'both failures of both handlers are logged');
      t.ok(failures.every((line) => line.level === 50 && line.channel === channel), 'at error level, with the channel');
    }));

  t.test('publishing what JSON cannot carry fails loudly', (t) =>
    withBus(async (bus) => {
      await t.rejects(bus.publish(unique('bigint'), { position: 1n }), {
        name: 'TypeError',
        message: /not JSON-serialisable \(send bigints as strings\)/,
      });
    }));

  t.test('ready() resolves once subscriptions are in effect', (t) =>
    withBus(async (bus) => {
      bus.subscribe(unique('ready'), () => {});
      await t.resolves(bus.ready(), 'ready() resolves');
    }));

  t.test('close stops delivery and refuses further use', async (t) => {
    const bus = await makeBus(captureLog().log);
    const channel = unique('close');
    const inbox = collect(bus, channel);
    // Caught at once: closing may fail the publish in flight, and a rejection left without a handler while
    // close() waits on the network is an unhandled one.
    const last = bus.publish(channel, { n: 1 }).catch(() => undefined);
    await bus.close();
    await last;
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.same(inbox.received, [], 'nothing delivered after close');
    await t.rejects(bus.publish(channel, { n: 2 }), /closed/);
    t.throws(() => bus.subscribe(channel, () => {}), /closed/);
    await bus.close(); // harmless twice
  });
}

t.test('in-process bus', async (t) => {
  contract(t, async (log) => createMemoryBus({ log }));
});

/** Why the Redis half cannot run here, or undefined when Redis answers. */
async function redisUnavailable(): Promise<string | undefined> {
  try {
    await (await createRedisBus({ url: REDIS_URL, log: captureLog().log })).close();
    return undefined;
  } catch (err) {
    return `Redis is not reachable (${(err as Error).message}); set REDIS_URL to run these`;
  }
}

const skipRedis = await redisUnavailable();
t.test('Redis bus', { skip: skipRedis ?? false }, async (t) => {
  const keyPrefix = `hearth-test-${process.pid}:`;
  contract(t, (log) => createRedisBus({ url: REDIS_URL, log, keyPrefix }));
});
