/**
 * Event persistence through the real RoomStore against plain INSERTs of the same rows into a bare table (no
 * keys, no indexes), with the same batches and one transaction per batch in both. On PostgreSQL when
 * DATABASE_URL is set (in a scratch database, dropped afterwards), else on the embedded engine in a
 * temporary data directory.
 *
 * Workloads: 10,000 events into one room and 10,000 spread over 100 rooms (round robin), each event after
 * the previous one of its room, one in ten an m.room.member event. Each batch does what the receive
 * pipeline will: persistEvents, setForwardExtremities, updateCurrentState for the state events in it.
 * The Hearth column also shows where its time goes, per RoomWrites call.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { stateKey, type RoomEvent, type StateKey } from '../src/events/event.js';
import { silentLogger } from '../src/platform/logger.js';
import type { NewEvent, RoomStore, RoomWrites } from '../src/rooms/ports.js';
import { createRoomStore, migrate, openDatabase, type Database } from '../src/storage/index.js';

const GOAL_EVENTS_PER_SECOND = 3000;
const EVENTS = 10_000;
const STATE_EVERY = 10;
const MEMBERS = 500;

interface Workload {
  readonly name: string;
  readonly rooms: string[];
  /** Batches in the order they are written, each of one room. */
  readonly batches: Array<{ roomId: string; events: RoomEvent[] }>;
}

function pduFor(roomId: string, i: number, prev: RoomEvent | undefined, isState: boolean): RoomEvent {
  const sender = `@user${i % MEMBERS}:bench.example`;
  const type = prev === undefined ? 'm.room.create' : isState ? 'm.room.member' : 'm.room.message';
  const stateKeyValue = prev === undefined ? '' : isState ? sender : undefined;
  const content: Record<string, unknown> =
    prev === undefined
      ? { room_version: '10', creator: sender }
      : isState
        ? { membership: 'join', displayname: `User ${i % MEMBERS}` }
        : { msgtype: 'm.text', body: `Message ${i}: Grüße aus Zürich, das Treffen ist um 15:00 🙂 ${'x'.repeat(i % 80)}` };
  const eventId = `$${randomBytes(32).toString('base64url').slice(0, 43)}`;
  const depth = (prev?.depth ?? 0) + 1;
  const prevEvents = prev === undefined ? [] : [prev.eventId];
  const authEvents = prev === undefined ? [] : ['$create_event_id_placeholder_00000000000000', '$power_levels_placeholder_0000000000000000'];
  const pdu: Record<string, unknown> = {
    auth_events: authEvents,
    content,
    depth,
    hashes: { sha256: randomBytes(32).toString('base64').slice(0, 43) },
    origin: 'bench.example',
    origin_server_ts: 1_732_866_123_456 + i,
    prev_events: prevEvents,
    room_id: roomId,
    sender,
    ...(stateKeyValue === undefined ? {} : { state_key: stateKeyValue }),
    type,
    signatures: { 'bench.example': { 'ed25519:a_RXGa': randomBytes(64).toString('base64').slice(0, 86) } },
    unsigned: { age_ts: 1_732_866_123_456 + i },
  };
  return {
    eventId, roomId, type, stateKey: stateKeyValue, sender, origin: 'bench.example', content,
    originServerTs: 1_732_866_123_456 + i, depth, prevEvents, authEvents, redacts: undefined, pdu,
  };
}

function workload(name: string, roomCount: number, batchSize: number, total = EVENTS): Workload {
  const rooms = Array.from({ length: roomCount }, (_, r) => `!bench${r}_${randomBytes(4).toString('hex')}:bench.example`);
  const perRoom = rooms.map((roomId) => {
    const events: RoomEvent[] = [];
    for (let i = 0; i < total / roomCount; i++) events.push(pduFor(roomId, i, events.at(-1), i % STATE_EVERY === 0));
    return events;
  });
  const batches: Workload['batches'] = [];
  for (let start = 0; start < total / roomCount; start += batchSize) {
    rooms.forEach((roomId, r) => batches.push({ roomId, events: perRoom[r]!.slice(start, start + batchSize) }));
  }
  return { name, rooms, batches };
}

/** Milliseconds spent inside each RoomWrites call, summed over a run. */
type Profile = Map<string, number>;

function timed(tx: RoomWrites, profile: Profile): RoomWrites {
  const wrap = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const start = performance.now();
      try {
        return await fn(...args);
      } finally {
        profile.set(name, (profile.get(name) ?? 0) + performance.now() - start);
      }
    };
  return {
    ...tx,
    persistEvents: wrap('persistEvents', tx.persistEvents),
    setForwardExtremities: wrap('setForwardExtremities', tx.setForwardExtremities),
    updateCurrentState: wrap('updateCurrentState', tx.updateCurrentState),
  };
}

async function runHearth(store: RoomStore, work: Workload, profile: Profile): Promise<number> {
  const lastOf = new Map<string, string>();
  const start = performance.now();
  for (const { roomId, events } of work.batches) {
    await store.withRoomWriteLock(roomId, async (raw) => {
      const tx = timed(raw, profile);
      const input: NewEvent[] = events.map((event) => ({
        event,
        outlier: false,
        rejectedReason: null,
        softFailed: false,
        stateBefore:
          event.prevEvents[0] === undefined
            ? { kind: 'full', state: new Map() }
            : { kind: 'after-event', eventId: event.prevEvents[0], changes: new Map() },
      }));
      await tx.persistEvents(roomId, input);
      const last = events.at(-1)!.eventId;
      await tx.setForwardExtremities(roomId, [last]);
      lastOf.set(roomId, last);
      const changes = new Map<StateKey, string>();
      for (const event of events) {
        if (event.stateKey !== undefined) changes.set(stateKey(event.type, event.stateKey), event.eventId);
      }
      await tx.updateCurrentState(roomId, changes);
    });
  }
  return performance.now() - start;
}

async function runRaw(sql: postgres.Sql, work: Workload): Promise<number> {
  const start = performance.now();
  for (const { roomId, events } of work.batches) {
    await sql.begin(async (tx) => {
      await tx`
        insert into raw_events (event_id, room_id, type, state_key, sender, depth, origin_server_ts, json)
        select id, ${roomId}, type, state_key, sender, depth, ts, json
        from unnest(${tx.array(events.map((e) => e.eventId))}::text[], ${tx.array(events.map((e) => e.type))}::text[],
          ${tx.array(events.map((e) => e.stateKey ?? null))}::text[], ${tx.array(events.map((e) => e.sender))}::text[],
          ${tx.array(events.map((e) => e.depth))}::int8[], ${tx.array(events.map((e) => e.originServerTs))}::int8[],
          ${tx.array(events.map((e) => JSON.stringify(e.pdu)))}::text[])
          as u (id, type, state_key, sender, depth, ts, json)`;
    });
  }
  return performance.now() - start;
}

async function openScratch(): Promise<{ db: Database; where: string; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
    const db = await openDatabase({ url: null, dataDir: dir, log: silentLogger() });
    return { db, where: `embedded (PGlite) in ${dir}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `hearth_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database "${name}"`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = await openDatabase({ url: target.toString(), dataDir: '', log: silentLogger() });
  const [version] = await db.sql<{ v: string }[]>`select current_setting('server_version') as v`;
  return {
    db,
    where: `PostgreSQL ${version?.v ?? '?'} at ${target.host}`,
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

export default async function run(): Promise<void> {
  const { db, where, drop } = await openScratch();
  try {
    await migrate(db.sql, { log: silentLogger() });
    await db.sql`
      create table raw_events (event_id text, room_id text, type text, state_key text, sender text, depth bigint,
        origin_server_ts bigint, json text)`;
    const store = createRoomStore(db.sql);
    console.log(`node ${process.version}; ${where}; 1 in ${STATE_EVERY} events is a member event`);
    console.log(`${'workload'.padEnd(40)} ${'Hearth ev/s'.padStart(12)} ${'raw ev/s'.padStart(12)} ${'ratio'.padStart(8)}`);

    const workloads = [
      workload('1 room, batches of 100', 1, 100),
      workload('100 rooms, batches of 100', 100, 100),
      workload('100 rooms, batches of 10', 100, 10),
      workload('1 room, batches of 1 (local sends)', 1, 1, 2000),
    ];
    let mainFigure = Infinity;
    const profiles: Array<[string, Profile, number]> = [];
    for (const work of workloads) {
      for (const roomId of work.rooms) {
        await store.withRoomWriteLock(roomId, (tx) => tx.createRoom({ roomId, roomVersion: '10', creator: '@user0:bench.example' }));
      }
      const events = work.batches.reduce((n, b) => n + b.events.length, 0);
      const profile: Profile = new Map();
      const oursMs = await runHearth(store, work, profile);
      const rawMs = await runRaw(db.sql, work);
      const ours = (events * 1000) / oursMs;
      const raw = (events * 1000) / rawMs;
      if (work.batches[0]!.events.length >= 100) mainFigure = Math.min(mainFigure, ours);
      profiles.push([work.name, profile, oursMs]);
      console.log(
        `${work.name.padEnd(40)} ${Math.round(ours).toLocaleString('en-US').padStart(12)} ${Math.round(raw).toLocaleString('en-US').padStart(12)} ${(raw / ours).toFixed(2).padStart(7)}x`,
      );
    }
    console.log('where Hearth spends its time (share of the run):');
    for (const [name, profile, total] of profiles) {
      const inside = [...profile.values()].reduce((a, b) => a + b, 0);
      const parts = [...profile].map(([call, ms]) => `${call} ${pct(ms, total)}`);
      console.log(`  ${name}: ${parts.join(', ')}, transaction + lock + commit ${pct(total - inside, total)}`);
    }
    const [sizes] = await db.sql<{ events: number; groups: number; entries: number }[]>`
      select (select count(*)::int from events) as events, (select count(*)::int from state_groups) as groups,
        (select count(*)::int from state_group_entries) as entries`;
    console.log(`stored: ${sizes?.events} events, ${sizes?.groups} state groups, ${sizes?.entries} state group entries`);
    const met = mainFigure >= GOAL_EVENTS_PER_SECOND;
    console.log(
      `goal: at least ${GOAL_EVENTS_PER_SECOND.toLocaleString('en-US')} events/s persisted in batches of 100: ` +
        `${Math.round(mainFigure).toLocaleString('en-US')}, ${met ? 'met' : 'MISSED'}`,
    );
  } finally {
    await db.close();
    await drop();
  }
}

function pct(part: number, total: number): string {
  return `${Math.round((part * 100) / total)}%`;
}
