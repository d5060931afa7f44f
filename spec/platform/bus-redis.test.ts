import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { createRedisBus, type Bus, type BusMessage } from '../../src/platform/bus.js';
import type { Logger } from '../../src/platform/logger.js';

/** What only the Redis bus has: several processes (here: bus instances), prefixes, reconnects. */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function captureLog(): { log: Logger; lines: Array<{ level: number; msg: string; role?: string }> } {
  const lines: Array<{ level: number; msg: string; role?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

const silent = () => captureLog().log;
const uniquePrefix = () => `hearth-test-${process.pid}-${Math.random().toString(36).slice(2)}:`;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function inbox(bus: Bus, channel: string): BusMessage[] {
  const received: BusMessage[] = [];
  bus.subscribe(channel, (message) => received.push(message));
  return received;
}

async function redisUnavailable(): Promise<string | undefined> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.quit();
    return undefined;
  } catch (err) {
    probe.disconnect();
    return `Redis is not reachable (${(err as Error).message}); set REDIS_URL to run these`;
  }
}

const skip = await redisUnavailable();

t.test('Redis bus', { skip: skip ?? false }, async (t) => {
  // A plain connection to look at Redis from the outside.
  const admin = new Redis(REDIS_URL);
  t.teardown(() => admin.quit());
  const buses: Bus[] = [];
  const open = async (keyPrefix: string, log: Logger = silent()) => {
    const bus = await createRedisBus({ url: REDIS_URL, log, keyPrefix });
    buses.push(bus);
    return bus;
  };
  t.teardown(() => Promise.all(buses.map((bus) => bus.close())));

  t.test('two processes with the same prefix hear each other', async (t) => {
    const prefix = uniquePrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    const heardByA = inbox(a, 'events');
    const heardByB = inbox(b, 'events');
    await Promise.all([a.ready(), b.ready()]);
    await a.publish('events', { from: 'a' });
    await b.publish('events', { from: 'b' });
    await until('both messages on both buses', () => heardByA.length === 2 && heardByB.length === 2);
    t.same(heardByA, [{ from: 'a' }, { from: 'b' }]);
    t.same(heardByB, [{ from: 'a' }, { from: 'b' }]);
  });

  t.test('different prefixes do not hear each other', async (t) => {
    const one = await open(uniquePrefix());
    const other = await open(uniquePrefix());
    const heardByOther = inbox(other, 'events');
    await other.ready();
    await one.publish('events', { from: 'one' });
    // Redis handles commands in order, so once `other` hears its own later message, `one`'s would be in too.
    await other.publish('events', { from: 'other' });
    await until('the sentinel', () => heardByOther.length >= 1);
    t.same(heardByOther, [{ from: 'other' }]);
  });

  t.test('the channel on Redis carries the prefix, and the payload is JSON', async (t) => {
    const prefix = uniquePrefix();
    const bus = await open(prefix);
    const watcher = new Redis(REDIS_URL);
    t.teardown(() => watcher.quit());
    const raw: Array<[string, string]> = [];
    watcher.on('message', (channel: string, payload: string) => raw.push([channel, payload]));
    await watcher.subscribe(`${prefix}caches`);
    await bus.publish('caches', { invalidate: 'power_levels', room: '!a:example.org' });
    await until('the raw message', () => raw.length === 1);
    t.same(raw, [[`${prefix}caches`, '{"invalidate":"power_levels","room":"!a:example.org"}']]);
  });

  t.test('a message that is not a JSON object is logged and dropped', async (t) => {
    const prefix = uniquePrefix();
    const captured = captureLog();
    const bus = await open(prefix, captured.log);
    const heard = inbox(bus, 'events');
    await bus.ready();
    await admin.publish(`${prefix}events`, 'not json');
    await admin.publish(`${prefix}events`, '[1,2]');
    await bus.publish('events', { n: 1 });
    await until('the good message', () => heard.length === 1);
    t.same(heard, [{ n: 1 }]);
    t.equal(captured.lines.filter((line) => line.msg === 'bus message is not a JSON object; dropped').length, 2);
  });

  t.test('one SUBSCRIBE per channel however many handlers, dropped with the last', async (t) => {
    const prefix = uniquePrefix();
    const bus = await open(prefix);
    const channel = `${prefix}busy`;
    const subscribers = async () => {
      const reply = (await admin.pubsub('NUMSUB', channel)) as [string, number];
      return reply[1];
    };
    const offs = [bus.subscribe('busy', () => {}), bus.subscribe('busy', () => {}), bus.subscribe('busy', () => {})];
    await bus.ready();
    t.equal(await subscribers(), 1, 'one Redis subscription for three handlers');
    offs[0]?.();
    offs[1]?.();
    await bus.ready();
    t.equal(await subscribers(), 1, 'still subscribed while a handler remains');
    offs[2]?.();
    await bus.ready();
    t.equal(await subscribers(), 0, 'unsubscribed from Redis with the last handler');
  });

  t.test('a killed connection is logged, re-established, and delivery resumes', async (t) => {
    const prefix = uniquePrefix();
    const captured = captureLog();
    const bus = await open(prefix, captured.log);
    const heard = inbox(bus, 'events');
    await bus.publish('events', { n: 1 });
    await until('the first message', () => heard.length === 1);

    const clients = (await admin.client('LIST')) as string;
    const mine = clients.split('\n').filter((line) => line.includes(` name=${prefix}bus:`));
    t.equal(mine.length, 2, 'both connections are named after the prefix');
    for (const line of mine) await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(line)?.[1] ?? '');

    await until('the warning', () => captured.lines.some((line) => line.msg.includes('connection lost') && line.level === 40));
    await until('both connections back', () =>
      captured.lines.filter((line) => line.msg === 'redis bus reconnected').length === 2);
    await until('the re-subscription', async () => {
      const reply = (await admin.pubsub('NUMSUB', `${prefix}events`)) as [string, number];
      return reply[1] === 1;
    });
    await bus.publish('events', { n: 2 });
    await until('the message after reconnecting', () => heard.length === 2);
    t.same(heard, [{ n: 1 }, { n: 2 }]);
  });

  t.test('an unreachable Redis fails start-up with a clear message and no password', async (t) => {
    const captured = captureLog();
    await t.rejects(createRedisBus({ url: 'redis://:hunter2@127.0.0.1:1', log: captured.log }), {
      message: /^could not connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: connect ECONNREFUSED/,
    });
    t.notMatch(JSON.stringify(captured.lines), /hunter2/, 'the password is not logged');
    t.ok(captured.lines.some((line) => line.level === 40), 'the connection error is logged at warn');
  });
});
