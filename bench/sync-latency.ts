/**
 * Send-to-delivery latency of chat messages through /sync long-polls, next to a raw WebSocket broadcast of
 * the same messages to the same clients, both measured in this run.
 *
 *   npm run bench -- sync-latency [--clients 1000] [--rate 200] [--seconds 10] [--warmup 3] [--room-size 10] [--push-rules] [--profile DIR]
 *
 * Hearth runs as its own process (`hearth start`, as a person runs it) on PostgreSQL when DATABASE_URL is
 * set (a scratch database, dropped afterwards), else on the embedded engine. `clients` users each hold one
 * long-poll open; they sit in rooms of `room-size` members; a member of each room in turn sends a message,
 * `rate` messages a second for `seconds` seconds. A message's latency, per recipient, runs from the start of
 * its PUT /send to the moment that recipient's /sync answer with it has been read. The baseline does the same
 * over bare sockets (bench/lib/ws-broadcast-server.ts): no storage, no auth, no event format.
 *
 * The same load runs first for `warmup` seconds, reported on its own: the first seconds of load on a process
 * just started (code paths setup did not run are still in V8's slower tiers, caches are cold) are slower than
 * the steady state a running server lives in, and the figures measured after it are the steady state's.
 *
 * `--push-rules`: every user first changes a push rule (adds a keyword), as a client's notification settings
 * do, so each woken sync has the user's own m.push_rules to judge the new message by.
 *
 * Goal (issue 4): p99 under 25 ms with 1,000 long-polling clients at 200 messages/s on PostgreSQL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { Agent, request, setGlobalDispatcher } from 'undici';
import WebSocket from 'ws';
import { measureCpu } from './lib/cpu.js';
import { hearthCommand } from './lib/hearth-command.js';

const ROOT = resolve(import.meta.dirname, '..');
const GOAL_P99_MS = 25;
/** How often the clients' event loop is sampled for hold-ups. */
const CLIENT_DELAY_TICK_MS = 5;

interface Options {
  readonly clients: number;
  readonly rate: number;
  readonly seconds: number;
  /** Seconds of the same load sent first, reported apart (0: none). */
  readonly warmup: number;
  readonly roomSize: number;
  /** Each user has a push rule of their own (m.push_rules account data). */
  readonly pushRules: boolean;
  /** Write a V8 CPU profile of the Hearth process into this folder (open it in Chrome's DevTools). */
  readonly profile: string | null;
}

function parseOptions(args: readonly string[]): Options {
  const value = (name: string, fallback: number, least = 1) => {
    const index = args.indexOf(`--${name}`);
    const parsed = index < 0 ? fallback : Number(args[index + 1]);
    if (!Number.isInteger(parsed) || parsed < least) throw new Error(`--${name} takes an integer of at least ${least}`);
    return parsed;
  };
  const profileAt = args.indexOf('--profile');
  const profile = profileAt < 0 ? null : (args[profileAt + 1] ?? null);
  if (profileAt >= 0 && profile === null) throw new Error('--profile takes a folder');
  return {
    clients: value('clients', 1000),
    rate: value('rate', 200),
    seconds: value('seconds', 10),
    warmup: value('warmup', 3, 0),
    roomSize: value('room-size', 10),
    pushRules: args.includes('--push-rules'),
    profile: profile === null ? null : resolve(profile),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(name: string, latencies: number[], expected: number): { p50: number; p99: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  console.log(
    `${name.padEnd(22)} delivered ${String(sorted.length).padStart(7)}/${expected}  ` +
      `p50 ${p50.toFixed(1).padStart(7)} ms  p99 ${p99.toFixed(1).padStart(7)} ms  max ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(7)} ms`,
  );
  return { p50, p99 };
}

/** Calls `send(i)` `count` times at `rate` a second (not waiting for each), then waits for them all. */
async function paced(count: number, rate: number, send: (i: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((done) => setTimeout(done, wait));
    pending.push(send(i));
  }
  await Promise.all(pending);
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

// ---------------------------------------------------------------------------------------------------------
// Hearth

interface HearthProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

async function startHearth(dir: string, databaseUrl: string | null, profile: string | null): Promise<HearthProcess> {
  const config = join(dir, 'hearth.yaml');
  writeFileSync(
    config,
    [
      'server_name: bench.local',
      'listen: { host: 127.0.0.1, port: 0 }',
      'enable_registration: true',
      // A thousand clients register and send from one address: the limits would measure themselves.
      'rate_limits: { enabled: false }',
      // The default pool, as a person runs it.
      ...(databaseUrl ? [`database: { url: "${databaseUrl}" }`] : []),
    ].join('\n'),
  );
  const profiling = profile === null ? [] : ['--cpu-prof', '--cpu-prof-dir', profile];
  // What `npm start` runs, with its V8 flag (bin/hearth.js says why).
  const command = hearthCommand(['--min-semi-space-size=16', ...profiling], ['start', '--config', config]);
  const child: ChildProcess = spawn(process.execPath, command, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HEARTH_LOG_LEVEL: process.env.HEARTH_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((done, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      // Hearth logs warnings and errors only (HEARTH_LOG_LEVEL): pass them on once it is up.
      if (out.includes(' at http')) process.stderr.write(chunk);
      out += chunk.toString();
      const match = /serving \S+ at (http:\/\/\S+)/.exec(out);
      if (match) done(match[1]!);
    });
    child.once('exit', (code) => fail(new Error(`hearth exited with ${code}:\n${out}`)));
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGINT');
      await once(child, 'exit');
    },
  };
}

interface Account {
  readonly userId: string;
  readonly token: string;
}

/**
 * The clients' HTTP: undici's request, not its fetch, which costs several times the CPU per request. The
 * clients share the machine's two cores with Hearth and PostgreSQL, so what they burn is taken from Hearth.
 */
async function call(url: string, method: 'GET' | 'POST' | 'PUT', path: string, token: string | null, body?: unknown): Promise<Record<string, unknown>> {
  const res = await request(`${url}/_matrix/client/v3${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.body.json()) as Record<string, unknown>;
  if (res.statusCode >= 300 && res.statusCode !== 401) throw new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

async function register(url: string, username: string): Promise<Account> {
  const password = `${username} password`;
  const first = await call(url, 'POST', '/register', null, { username, password });
  const done = await call(url, 'POST', '/register', null, { username, password, auth: { type: 'm.login.dummy', session: first.session } });
  return { userId: done.user_id as string, token: done.access_token as string };
}

async function hearthRun(options: Options, rooms: number): Promise<{ latencies: number[]; expected: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-sync-'));
  const adminUrl = process.env.DATABASE_URL;
  const dbName = `hearth_bench_${randomBytes(4).toString('hex')}`;
  let databaseUrl: string | null = null;
  if (adminUrl) {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`create database ${dbName}`);
    await admin.end();
    const parsed = new URL(adminUrl);
    parsed.pathname = `/${dbName}`;
    databaseUrl = parsed.toString();
  }
  const hearth = await startHearth(dir, databaseUrl, options.profile);
  try {
    console.log(`Hearth on ${databaseUrl ? 'PostgreSQL' : 'the embedded engine'}: setting up ${options.clients} users in ${rooms} rooms...`);
    const setupStart = performance.now();
    const users: Account[] = [];
    await inBatches([...Array(options.clients).keys()], 16, async (i) => {
      users[i] = await register(hearth.url, `user${i}`);
      if (options.pushRules) {
        await call(hearth.url, 'PUT', `/pushrules/global/content/bench-keyword`, users[i]!.token, { pattern: 'hearth', actions: ['notify', { set_tweak: 'highlight' }] });
      }
    });
    const roomIds: string[] = [];
    await inBatches([...Array(rooms).keys()], 8, async (r) => {
      const creator = users[r * options.roomSize]!;
      const created = await call(hearth.url, 'POST', '/createRoom', creator.token, { preset: 'public_chat' });
      roomIds[r] = created.room_id as string;
      for (let m = 1; m < options.roomSize; m++) {
        await call(hearth.url, 'POST', `/join/${encodeURIComponent(roomIds[r]!)}`, users[r * options.roomSize + m]!.token, {});
      }
    });
    const filter = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 50 } }, presence: { types: [] } }));
    const since: string[] = [];
    await inBatches([...Array(options.clients).keys()], 16, async (i) => {
      const initial = await call(hearth.url, 'GET', `/sync?filter=${filter}&timeout=0`, users[i]!.token);
      since[i] = initial.next_batch as string;
    });
    console.log(`  set up in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);

    // Each delivery is counted in the phase its message was sent in.
    interface Phase {
      readonly latencies: number[];
      readonly sendTimes: number[];
      /** Deliveries by the second of the phase their message was sent in: a queue building up shows as a rise. */
      readonly bySecond: number[][];
      from: number;
    }
    const newPhase = (seconds: number): Phase => ({ latencies: [], sendTimes: [], bySecond: Array.from({ length: seconds }, () => []), from: Infinity });
    const sentAt = new Map<string, { readonly at: number; readonly phase: Phase }>();
    // One controller per client: a shared signal would collect a listener per request.
    const aborts = users.map(() => new AbortController());
    let running = true;
    const poll = async (i: number) => {
      while (running) {
        let body: { next_batch: string; rooms?: { join?: Record<string, { timeline: { events: Array<{ type: string; content: { id?: string } }> } }> } };
        try {
          const res = await request(`${hearth.url}/_matrix/client/v3/sync?filter=${filter}&timeout=30000&since=${since[i]}`, {
            headers: { authorization: `Bearer ${users[i]!.token}` },
            signal: aborts[i]!.signal,
          });
          body = (await res.body.json()) as typeof body;
        } catch (err) {
          if (!running) return;
          throw err;
        }
        const now = performance.now();
        for (const room of Object.values(body.rooms?.join ?? {})) {
          for (const event of room.timeline.events) {
            const sent = event.type === 'm.room.message' && event.content.id !== undefined ? sentAt.get(event.content.id) : undefined;
            if (sent !== undefined) {
              sent.phase.latencies.push(now - sent.at);
              sent.phase.bySecond[Math.floor((sent.at - sent.phase.from) / 1000)]?.push(now - sent.at);
            }
          }
        }
        since[i] = body.next_batch;
      }
    };
    const polls = users.map((_, i) => poll(i));
    await new Promise((done) => setTimeout(done, 1000));

    /** Sends `rate` messages a second for `seconds` seconds, each message's id prefixed with `tag`. */
    const sendPhase = async (tag: string, seconds: number): Promise<Phase> => {
      const phase = newPhase(seconds);
      phase.from = performance.now();
      await paced(options.rate * seconds, options.rate, async (i) => {
        const room = i % rooms;
        const sender = users[room * options.roomSize + (Math.floor(i / rooms) % options.roomSize)]!;
        const id = `${tag}${i}`;
        const start = performance.now();
        sentAt.set(id, { at: start, phase });
        await call(hearth.url, 'PUT', `/rooms/${encodeURIComponent(roomIds[room]!)}/send/m.room.message/${id}`, sender.token, {
          msgtype: 'm.text',
          body: `bench message ${i}`,
          id,
        });
        phase.sendTimes.push(performance.now() - start);
      });
      return phase;
    };
    const bySecond = (phase: Phase) => phase.bySecond.map((second) => percentile([...second].sort((a, b) => a - b), 99).toFixed(0)).join(' ');

    // A process just started runs the send and the woken-sync paths for the first time here (setup ran
    // others), in V8's slower tiers, with its caches cold: the first seconds of load are reported apart.
    let cold: Phase | null = null;
    if (options.warmup > 0) {
      cold = await sendPhase('w', options.warmup);
      await new Promise((done) => setTimeout(done, 3000));
    }
    const count = options.rate * options.seconds;
    const cpu = measureCpu(hearth.pid, 'Hearth');
    // The clients' own event loop: a delivery that arrives while it is held up (by its garbage collector,
    // say) is read late, and its latency counts the wait, which no client on a machine of its own would see.
    // It records the time between ticks of a timer: what is beyond the timer's interval is the hold-up.
    const clientDelay = monitorEventLoopDelay({ resolution: CLIENT_DELAY_TICK_MS });
    clientDelay.enable();
    const measured = await sendPhase('m', options.seconds);
    await new Promise((done) => setTimeout(done, 2000));
    clientDelay.disable();
    const used = cpu();
    running = false;
    for (const abort of aborts) abort.abort();
    await Promise.allSettled(polls);
    if (cold !== null) {
      console.log(`first ${options.warmup} s of load on the fresh process (not in the figures below):`);
      summary('  /sync long-poll', cold.latencies, options.rate * options.warmup * options.roomSize);
      console.log(`  p99 by second: ${bySecond(cold)} ms`);
    }
    // Where the time goes: a send's own answer is part of every delivery's latency.
    summary('Hearth PUT /send answer', measured.sendTimes, count);
    console.log(`  delivery p99 by second of sending: ${bySecond(measured)} ms`);
    const heldUpMs = (ns: number) => Math.max(0, ns / 1e6 - CLIENT_DELAY_TICK_MS).toFixed(1);
    console.log(
      `  benchmark clients' event loop held up: p99 ${heldUpMs(clientDelay.percentile(99))} ms, ` +
        `max ${heldUpMs(clientDelay.max)} ms (part of any latency measured meanwhile)`,
    );
    if (used !== null) {
      // The sending seconds and the two after them, in which the last deliveries arrive.
      console.log(`  ${used.line}`);
      console.log(
        `  Hearth CPU per message: ${((used.serverSeconds * 1000) / count).toFixed(2)} ms ` +
          `(${((used.serverSeconds * 1000) / (count * options.roomSize)).toFixed(2)} ms per delivery, sends included)`,
      );
    }
    return { latencies: measured.latencies, expected: count * options.roomSize };
  } finally {
    await hearth.stop();
    rmSync(dir, { recursive: true, force: true });
    if (adminUrl) {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      await admin.unsafe(`drop database if exists ${dbName} with (force)`);
      await admin.end();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Raw baseline

async function rawRun(options: Options, rooms: number): Promise<{ latencies: number[]; expected: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/ws-broadcast-server.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((done, fail) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        const match = /listening (\d+)/.exec(chunk.toString());
        if (match) done(Number(match[1]));
      });
      child.once('exit', (code) => fail(new Error(`ws server exited with ${code}`)));
    });
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const sockets: WebSocket[] = [];
    await inBatches([...Array(options.clients).keys()], 50, async (i) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`);
      await once(socket, 'open');
      const room = `room${Math.floor(i / options.roomSize)}`;
      socket.send(JSON.stringify({ join: room }));
      await once(socket, 'message');
      socket.on('message', (data) => {
        const now = performance.now();
        const sent = sentAt.get((JSON.parse(data.toString()) as { id: string }).id);
        if (sent !== undefined) latencies.push(now - sent);
      });
      sockets[i] = socket;
    });
    const count = options.rate * options.seconds;
    await paced(count, options.rate, async (i) => {
      const room = i % rooms;
      const sender = sockets[room * options.roomSize + (Math.floor(i / rooms) % options.roomSize)]!;
      const id = `m${i}`;
      sentAt.set(id, performance.now());
      sender.send(JSON.stringify({ room: `room${room}`, id, body: `bench message ${i}` }));
    });
    await new Promise((done) => setTimeout(done, 2000));
    for (const socket of sockets) socket.close();
    return { latencies, expected: count * options.roomSize };
  } finally {
    child.kill('SIGINT');
    await once(child, 'exit');
  }
}

export default async function syncLatency(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (options.clients % options.roomSize !== 0) throw new Error('--clients must be a multiple of --room-size');
  const rooms = options.clients / options.roomSize;
  // One connection per long-poll, as a thousand separate clients would have.
  setGlobalDispatcher(new Agent({ connections: null, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 }));
  console.log(
    `sync-latency: ${options.clients} clients in ${rooms} rooms of ${options.roomSize}, ` +
      `${options.rate} messages/s for ${options.seconds} s (${options.rate * options.roomSize} deliveries/s)` +
      (options.pushRules ? ', each user with a push rule of their own' : ''),
  );
  const raw = await rawRun(options, rooms);
  const rawFigures = summary('raw ws broadcast', raw.latencies, raw.expected);
  const ours = await hearthRun(options, rooms);
  const hearthFigures = summary('Hearth /sync long-poll', ours.latencies, ours.expected);
  console.log(
    `ratio (Hearth / raw): p50 ${(hearthFigures.p50 / rawFigures.p50).toFixed(1)}x, p99 ${(hearthFigures.p99 / rawFigures.p99).toFixed(1)}x; ` +
      `goal p99 < ${GOAL_P99_MS} ms: ${hearthFigures.p99 < GOAL_P99_MS ? 'met' : 'not met'}`,
  );
}
