/**
 * A user of server B joins a room held by server A that has `members` joined members, over federation, next
 * to a raw baseline measured in this run.
 *
 *   npm run bench -- remote-join [--members 10000] [--profile DIR]
 *
 * Both Hearths run as their own processes (`hearth start`, as a person runs them), named 127.0.0.1:PORT and
 * serving the client and federation APIs on one TLS listener with a throwaway certificate both trust; on
 * PostgreSQL when DATABASE_URL is set (scratch databases, dropped afterwards), else on the embedded engine.
 *
 * The room is made before A starts, in A's database with A's signing key: the room server creates it
 * (public_chat, as POST /createRoom does), then each member's join is built and signed by src/events'
 * buildEvent, checked by the auth rules against the state before it, and stored through the RoomStore's
 * persistEvents with its state, a batch per transaction: the rows a local join writes, without 10,000
 * argon2 registrations (the members have no accounts; nothing in a join needs one). A's federation sender
 * is set past those joins, as a live A would be: they had no other server to go to.
 *
 * Timed: POST /join/{roomId}?via=A by a user of B, from request to answer. The split comes from the two
 * servers' info log lines ('joined remote room' on B, 'send_join answered' on A):
 *   fetching   make_join + send_join round trips, including A's accept and answer build;
 *   verifying  B parsing the answer, checking every signature and content hash, and the auth chain;
 *   resolving  B checking the create event and the join against the room's state;
 *   persisting B's transaction storing the room, the state as outliers and the join.
 * Baseline: the same number of bytes as A's send_join answer, served by a bare node:https server and
 * JSON.parsed by the client, plus as many ed25519 verifications and SHA-256 hashes of event-sized messages
 * with node:crypto: about the least any server must do to take in this room.
 *
 * Goal (issue 7): under 10 s with 10,000 members.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { Agent, fetch } from 'undici';
import { authEventsSelection, buildEvent, checkAuth, getRoomVersion, stateKey, type RoomEvent, type StateKey } from '../src/events/index.js';
import { systemClock, systemRandom } from '../src/platform/clock.js';
import { silentLogger } from '../src/platform/logger.js';
import { generateSigningKey, writeSigningKeyFile } from '../src/platform/signing-key-file.js';
import { hearthCommand } from './lib/hearth-command.js';
import { createRoomServer } from '../src/rooms/index.js';
import { createFederationQueueStore, createRoomStore, migrate, openDatabase, type Database } from '../src/storage/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const GOAL_MS = 10_000;
/** Joins per transaction while making the room: large enough that statements are few, small enough for memory. */
const SETUP_BATCH = 1000;

interface Options {
  readonly members: number;
  /** Write V8 CPU profiles of both Hearth processes into this folder. */
  readonly profile: string | null;
}

function parseOptions(args: readonly string[]): Options {
  const membersAt = args.indexOf('--members');
  const members = membersAt < 0 ? 10_000 : Number(args[membersAt + 1]);
  if (!Number.isInteger(members) || members <= 0) throw new Error('--members takes a positive integer');
  const profileAt = args.indexOf('--profile');
  const profile = profileAt < 0 ? null : (args[profileAt + 1] ?? null);
  if (profileAt >= 0 && profile === null) throw new Error('--profile takes a folder');
  return { members, profile: profile === null ? null : resolve(profile) };
}

/** A port that was free a moment ago (the server listens on it next; a clash fails loudly). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((done) => probe.close(() => done()));
  return port;
}

function throwawayCertificate(dir: string): { certFile: string; keyFile: string; cert: string; key: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

// ---------------------------------------------------------------------------------------------------------
// Scratch databases

interface Scratch {
  readonly url: string | null;
  drop(): Promise<void>;
}

async function scratchDatabase(): Promise<Scratch> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) return { url: null, drop: async () => undefined };
  const name = `hearth_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${name}`;
  return {
    url: parsed.toString(),
    async drop() {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Server A's room, made before A starts

interface MadeRoom {
  readonly roomId: string;
  /** The state PDUs and their auth chain, as A will serve them in the send_join answer. */
  readonly state: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly authChain: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

async function makeRoom(database: Database, dataDir: string, serverName: string, members: number): Promise<MadeRoom> {
  await migrate(database.sql, { log: silentLogger() });
  const key = generateSigningKey(systemRandom);
  await writeSigningKeyFile(join(dataDir, 'signing.key'), key);
  const store = createRoomStore(database.sql);
  const rooms = createRoomServer({
    store,
    notifier: { eventsPersisted: () => undefined },
    log: silentLogger(),
    clock: systemClock,
    random: systemRandom,
    serverName,
    signingKey: key,
  });
  const owner = `@owner:${serverName}`;
  const created = await rooms.createRoom({ creator: owner, preset: 'public_chat', name: 'Ten thousand' });
  const { roomId } = created;
  const rules = getRoomVersion((await store.room(roomId))!.roomVersion)!;

  // The state as the auth rules see it, kept here as the joins go in (each join's state is the one before it).
  const state = new Map<StateKey, RoomEvent>();
  for (const event of created.events) if (event.stateKey !== undefined) state.set(stateKey(event.type, event.stateKey), event);
  let previous = created.events.at(-1)!;
  let lastPosition = 0;
  for (let start = 0; start < members; start += SETUP_BATCH) {
    const batch: RoomEvent[] = [];
    for (let i = start; i < Math.min(members, start + SETUP_BATCH); i++) {
      const userId = `@member${i}:${serverName}`;
      const draft = { type: 'm.room.member', stateKey: userId, sender: userId, content: { membership: 'join', displayname: `Member ${i}` } };
      const authEvents = authEventsSelection(draft, rules).map((k) => state.get(k)).filter((e): e is RoomEvent => e !== undefined);
      const event = buildEvent(draft, {
        rules, roomId, origin: serverName, key, now: systemClock.now(), prevEvents: [previous], authEvents, eventIdLocalpart: `member${i}`,
      });
      const verdict = checkAuth(event, (type, k) => state.get(stateKey(type, k)), rules);
      if (!verdict.allowed) throw new Error(`the join of ${userId} fails the auth rules: ${verdict.reason}`);
      state.set(stateKey(event.type, userId), event);
      batch.push(event);
      previous = event;
    }
    lastPosition = await store.withRoomWriteLock(roomId, async (tx) => {
      let before = (await tx.forwardExtremities(roomId))[0]!;
      const positions = await tx.persistEvents(roomId, batch.map((event) => {
        const input = { event, outlier: false, rejectedReason: null, softFailed: false, stateBefore: { kind: 'after-event' as const, eventId: before, changes: new Map() } };
        before = event.eventId;
        return input;
      }));
      await tx.setForwardExtremities(roomId, [batch.at(-1)!.eventId]);
      await tx.updateCurrentState(roomId, new Map(batch.map((event) => [stateKey(event.type, event.stateKey!), event.eventId])));
      return positions.at(-1)!;
    });
  }
  // Every member is on A, so a live A would have had no server to send these joins to: its federation sender
  // starts past them, as it would be, instead of walking 10,000 joins against 10,000-member states while timed.
  await createFederationQueueStore(database.sql).queuePdus([], lastPosition);

  // What A's send_join answer carries: the state, and every event its auth_events reach.
  const byId = new Map<string, RoomEvent>();
  for (const event of [...created.events, ...state.values()]) byId.set(event.eventId, event);
  const chain = new Map<string, RoomEvent>();
  const walk = (ids: readonly string[]) => {
    for (const id of ids) {
      const event = byId.get(id);
      if (event && !chain.has(id)) {
        chain.set(id, event);
        walk(event.authEvents);
      }
    }
  };
  for (const event of state.values()) walk(event.authEvents);
  return { roomId, state: [...state.values()].map((e) => e.pdu), authChain: [...chain.values()].map((e) => e.pdu) };
}

// ---------------------------------------------------------------------------------------------------------
// Hearth processes

interface HearthProcess {
  readonly url: string;
  /** Info log lines with this message, parsed. */
  logLines(message: string): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function startHearth(dir: string, port: number, databaseUrl: string | null, certFile: string, keyFile: string, profile: string | null): Promise<HearthProcess> {
  const serverName = `127.0.0.1:${port}`;
  const config = join(dir, 'hearth.yaml');
  writeFileSync(
    config,
    [
      `server_name: "${serverName}"`,
      `public_baseurl: "https://${serverName}/"`,
      `data_dir: "${join(dir, 'data')}"`,
      `listen: { host: 127.0.0.1, port: ${port}, tls: { cert_file: "${certFile}", key_file: "${keyFile}" } }`,
      'enable_registration: true',
      'rate_limits: { enabled: false }',
      `federation: { ca_files: ["${certFile}"], allow_private_addresses: true }`,
      ...(databaseUrl ? [`database: { url: "${databaseUrl}", pool_size: 10 }`] : []),
    ].join('\n'),
  );
  const profiling = profile === null ? [] : ['--cpu-prof', '--cpu-prof-dir', profile, '--cpu-prof-name', `${port}.cpuprofile`];
  const child: ChildProcess = spawn(process.execPath, hearthCommand(profiling, ['start', '--config', config]), {
    cwd: ROOT,
    // Info lines carry the join's timings; warnings and errors are passed on.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HEARTH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let pending = '';
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) {
        out += `${line}\n`;
        const match = /serving \S+ at (https?:\/\/\S+)/.exec(line);
        if (match) done(match[1]!);
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (typeof parsed.level === 'number' && parsed.level >= 40) process.stderr.write(`${serverName}: ${line}\n`);
        lines.push(parsed);
      }
    });
    child.once('exit', (code) => fail(new Error(`hearth exited with ${code}:\n${out}`)));
  });
  return {
    url,
    logLines: (message) => lines.filter((line) => line.msg === message),
    async stop() {
      child.kill('SIGINT');
      await once(child, 'exit');
    },
  };
}

async function call(dispatcher: Agent, url: string, method: string, path: string, token: string | null, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/_matrix/client/v3${path}`, {
    dispatcher,
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok && res.status !== 401) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function register(dispatcher: Agent, url: string, username: string): Promise<{ userId: string; token: string }> {
  const password = `${username} password`;
  const first = await call(dispatcher, url, 'POST', '/register', null, { username, password });
  const done = await call(dispatcher, url, 'POST', '/register', null, { username, password, auth: { type: 'm.login.dummy', session: first.session } });
  return { userId: done.user_id as string, token: done.access_token as string };
}

interface JoinFigures {
  readonly totalMs: number;
  readonly fetchMs: number;
  readonly verifyMs: number;
  readonly resolveMs: number;
  readonly persistMs: number;
  readonly acceptMs: number;
  readonly answerMs: number;
  readonly stateEvents: number;
  readonly authChainEvents: number;
  readonly joinedMembers: number;
}

async function hearthRun(options: Options, dir: string, cert: { certFile: string; keyFile: string; cert: string }): Promise<{ figures: JoinFigures; room: MadeRoom }> {
  const [portA, portB] = [await freePort(), await freePort()];
  const nameA = `127.0.0.1:${portA}`;
  const dirA = join(dir, 'a');
  const dirB = join(dir, 'b');
  mkdirSync(join(dirA, 'data'), { recursive: true });
  mkdirSync(join(dirB, 'data'), { recursive: true });
  const [scratchA, scratchB] = [await scratchDatabase(), await scratchDatabase()];
  const stops: Array<() => Promise<void>> = [scratchA.drop, scratchB.drop];
  try {
    console.log(`Making the room on A (${nameA}, ${scratchA.url ? 'PostgreSQL' : 'embedded engine'}): ${options.members} members...`);
    const setupStart = performance.now();
    const database = await openDatabase({ url: scratchA.url, dataDir: join(dirA, 'data', 'db'), log: silentLogger() });
    let room: MadeRoom;
    try {
      room = await makeRoom(database, join(dirA, 'data'), nameA, options.members);
    } finally {
      await database.close();
    }
    console.log(`  made in ${seconds(performance.now() - setupStart)}: ${room.state.length} state events, auth chain of ${room.authChain.length}`);

    const a = await startHearth(dirA, portA, scratchA.url, cert.certFile, cert.keyFile, options.profile);
    stops.unshift(() => a.stop());
    const b = await startHearth(dirB, portB, scratchB.url, cert.certFile, cert.keyFile, options.profile);
    stops.unshift(() => b.stop());
    const dispatcher = new Agent({ connect: { ca: cert.cert }, headersTimeout: 0, bodyTimeout: 0 });
    stops.unshift(() => dispatcher.close());
    const joiner = await register(dispatcher, b.url, 'joiner');

    const started = performance.now();
    await call(dispatcher, b.url, 'POST', `/join/${encodeURIComponent(room.roomId)}?via=${encodeURIComponent(nameA)}`, joiner.token, {});
    const totalMs = performance.now() - started;

    const members = await call(dispatcher, b.url, 'GET', `/rooms/${encodeURIComponent(room.roomId)}/joined_members`, joiner.token);
    const joinedMembers = Object.keys(members.joined as Record<string, unknown>).length;
    if (joinedMembers !== options.members + 2) throw new Error(`B sees ${joinedMembers} joined members, expected ${options.members + 2}`);
    const joined = b.logLines('joined remote room').at(-1);
    const answered = a.logLines('send_join answered').at(-1);
    if (!joined || !answered) throw new Error('the servers logged no join timings (is HEARTH_LOG_LEVEL info?)');
    const t = joined.timings as Record<string, number>;
    const ta = answered.timings as Record<string, number>;
    return {
      room,
      figures: {
        totalMs, fetchMs: t.fetchMs!, verifyMs: t.verifyMs!, resolveMs: t.resolveMs!, persistMs: t.persistMs!,
        acceptMs: ta.acceptMs!, answerMs: ta.answerMs!, stateEvents: answered.stateEvents as number,
        authChainEvents: answered.authChainEvents as number, joinedMembers,
      },
    };
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Raw baseline

interface Baseline {
  readonly bytes: number;
  readonly transferMs: number;
  readonly verifyMs: number;
  readonly totalMs: number;
}

/** The answer's bytes over a bare HTTPS request and JSON.parse; as many ed25519 checks and SHA-256 hashes. */
async function rawRun(room: MadeRoom, cert: { cert: string; key: string }): Promise<Baseline> {
  const body = Buffer.from(JSON.stringify({ origin: 'baseline', members_omitted: false, servers_in_room: ['baseline'], state: room.state, auth_chain: room.authChain }));
  const server = createHttpsServer({ cert: cert.cert, key: cert.key }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const dispatcher = new Agent({ connect: { ca: cert.cert } });
  try {
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const transferStart = performance.now();
    const res = await fetch(url, { dispatcher });
    const parsed = JSON.parse(await res.text()) as { state: unknown[]; auth_chain: unknown[] };
    const transferMs = performance.now() - transferStart;

    // Event-sized messages, one signature and one hash each, as every PDU of the answer needs.
    const pdus = [...room.state, ...room.authChain];
    if (parsed.state.length + parsed.auth_chain.length !== pdus.length) throw new Error('baseline answer did not round-trip');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const messages = pdus.map((pdu) => Buffer.from(JSON.stringify({ ...pdu, signatures: undefined })));
    const signatures = messages.map((message) => sign(null, message, privateKey));
    const verifyStart = performance.now();
    for (let i = 0; i < messages.length; i++) {
      createHash('sha256').update(messages[i]!).digest();
      if (!verify(null, messages[i]!, publicKey, signatures[i]!)) throw new Error('baseline signature did not verify');
    }
    const verifyMs = performance.now() - verifyStart;
    return { bytes: body.length, transferMs, verifyMs, totalMs: transferMs + verifyMs };
  } finally {
    await dispatcher.close();
    server.close();
  }
}

export default async function remoteJoin(args: string[]): Promise<void> {
  const options = parseOptions(args);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-join-'));
  try {
    const cert = throwawayCertificate(dir);
    console.log(`remote-join: a user of B joins a room of ${options.members} members held by A, over federation`);
    const { figures, room } = await hearthRun(options, dir, cert);
    const raw = await rawRun(room, cert);
    const f = figures;
    const pct = (ms: number) => `${((100 * ms) / f.totalMs).toFixed(0).padStart(3)}%`;
    console.log(`Hearth join ${seconds(f.totalMs)} (B sees ${f.joinedMembers} joined members; answer of ${f.stateEvents} state + ${f.authChainEvents} auth chain events, ${(raw.bytes / 1e6).toFixed(1)} MB)`);
    console.log(`  fetching   ${seconds(f.fetchMs).padStart(9)} ${pct(f.fetchMs)}  (A: accepting the join ${seconds(f.acceptMs)}, building the answer ${seconds(f.answerMs)})`);
    console.log(`  verifying  ${seconds(f.verifyMs).padStart(9)} ${pct(f.verifyMs)}`);
    console.log(`  resolving  ${seconds(f.resolveMs).padStart(9)} ${pct(f.resolveMs)}`);
    console.log(`  persisting ${seconds(f.persistMs).padStart(9)} ${pct(f.persistMs)}`);
    const rest = f.totalMs - f.fetchMs - f.verifyMs - f.resolveMs - f.persistMs;
    console.log(`  other      ${seconds(rest).padStart(9)} ${pct(rest)}  (client API, candidates, profile, notify)`);
    console.log(`raw baseline ${seconds(raw.totalMs)}: bare HTTPS + JSON.parse of ${(raw.bytes / 1e6).toFixed(1)} MB ${seconds(raw.transferMs)}, ` +
      `${room.state.length + room.authChain.length} ed25519 verifications + SHA-256 ${seconds(raw.verifyMs)}`);
    console.log(`ratio (Hearth / raw): ${(f.totalMs / raw.totalMs).toFixed(1)}x; goal < ${seconds(GOAL_MS)}: ${f.totalMs < GOAL_MS ? 'met' : 'not met'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
