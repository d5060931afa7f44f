import t, { type Test } from 'tap';
import { appOn, registerUser } from '../helpers/app.js';
import { eachEngine } from '../helpers/database.js';
import { roomPath, testClient } from '../helpers/client.js';
import { createFederationQueueStore, createSyncStore } from '../../src/storage/index.js';
import type { SyncReads, SyncStore } from '../../src/sync/index.js';
import type { Database } from '../../src/storage/index.js';
import { EventCache } from '../../src/storage/event-cache.js';
import { StreamWindow } from '../../src/storage/stream-window.js';
import { clientRooms } from '../helpers/rooms.js';
import { fakeEvent } from '../helpers/room-events.js';

/**
 * The stream window (src/storage/stream-window.ts) answers sync's reads from memory. Whatever it holds,
 * trims or forgets, each answer must be the database's: every read here goes to a store with a small
 * window and to one without, and the two must agree.
 */

// Small limits, so that trimming, emptying rooms, dropping member events and restarting all happen.
const LIMITS = { roomEvents: 4, totalEvents: 9, rooms: 50, memberEvents: 5, catchUp: 12, tail: 6 };

const ids = (events: Iterable<{ event: { eventId: string } }>) => [...events].map(({ event }) => event.eventId);

interface Probe {
  readonly rooms: readonly string[];
  readonly users: readonly string[];
  /** Each user's device: whose transaction ids are asked for. */
  readonly devices?: readonly string[];
}

/**
 * Every read the window may answer, over every range up to the snapshot's position, in both stores. With
 * `window` (the windowed store's), its stream tail too, against the federation sender's read of the stream.
 */
async function compare(t: Test, windowed: SyncStore, plain: SyncStore, probe: Probe, window?: { readonly it: StreamWindow; readonly db: Database }): Promise<void> {
  const read = <T>(store: SyncStore, fn: (reads: SyncReads, position: number) => Promise<T>) =>
    store.snapshot(async (reads) => fn(reads, (await reads.standing(probe.users[0]!, 'NONE', [])).positions.events));
  const answers = (store: SyncStore) =>
    read(store, async (reads, position) => {
      const out: Record<string, unknown> = { position };
      const all: string[] = [];
      for (const roomId of probe.rooms) {
        for (let after = 0; after <= position; after++) {
          for (const limit of [0, 1, 3, 50]) {
            const page = await reads.timeline(roomId, after, position, limit);
            out[`timeline ${roomId} ${after} ${limit}`] = { events: ids(page.events), more: page.more };
            all.push(...ids(page.events));
          }
          out[`state ${roomId} ${after}`] = [...(await reads.stateAtPosition(roomId, after))].sort();
          out[`members ${roomId} ${after}`] = await reads.memberChangesIn([roomId], after, position);
        }
        out[`members of all ${roomId}`] = await reads.memberChangesIn(probe.rooms, 0, position);
      }
      for (const userId of probe.users) {
        for (let after = 0; after <= position; after++) out[`membership ${userId} ${after}`] = await reads.membershipChanges(userId, after, position);
      }
      const unique = [...new Set(all)].sort();
      for (const id of unique) {
        out[`redactions ${id}`] = [...(await reads.redactionsOf([id])).values()].flatMap(ids);
        out[`children ${id}`] = ids(await reads.childrenOf([id]));
        out[`state before ${id}`] = [...((await reads.stateBefore(id)) ?? [])].sort();
        for (const [i, userId] of probe.users.entries()) {
          const deviceId = probe.devices?.[i];
          if (deviceId !== undefined) out[`transaction ${id} ${userId}`] = [...(await reads.transactionIds(userId, deviceId, [id]))];
        }
      }
      return out;
    });
  const [mine, truth] = [await answers(windowed), await answers(plain)];
  t.same(mine, truth, `every answer at position ${String(truth.position)} is the database's`);
  if (window === undefined) return;
  const stream = createFederationQueueStore(window.db.sql);
  const reach = window.it.reach;
  let answered = 0;
  for (let after = 0; after <= reach; after++) {
    for (const limit of [1, 3, 50]) {
      const held = window.it.eventsAfter(after, reach, limit);
      if (held === undefined) continue;
      answered++;
      const read = await stream.eventsAfter(after, limit);
      t.same(held.map((e) => [e.event.eventId, e.streamPosition]), read.map((e) => [e.event.eventId, e.streamPosition]), `the stream after ${after}, at most ${limit}, is the database's`);
    }
  }
  t.ok(answered > 0, `the tail answers from memory (${answered} reads)`);
  t.equal(window.it.eventsAfter(reach - 1, reach + 1, 50), undefined, 'beyond what the window reached: the database answers');
}

async function world(t: Test, db: Database) {
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const aliceSession = await registerUser(app, 'alice');
  const bobSession = await registerUser(app, 'bob');
  const alice = testClient(app, aliceSession);
  const bob = testClient(app, bobSession);
  return { alice, bob, devices: [aliceSession.device_id, bobSession.device_id] };
}

eachEngine(t, 'the window answers as the database does, while it fills, trims and starts again', async (t, db) => {
  const { alice, bob, devices } = await world(t, db);
  const it = new StreamWindow(new EventCache(100), LIMITS);
  const windowed = createSyncStore(db.sql, { streamWindow: it });
  const plain = createSyncStore(db.sql, { streamWindow: false });
  const first = await alice.createRoom({ preset: 'public_chat' });
  // The window starts at its first snapshot: everything before lies below every floor.
  await compare(t, windowed, plain, { rooms: [first], users: [alice.user, bob.user], devices });
  const window = { it, db };

  await bob.post(`/join/${encodeURIComponent(first)}`);
  const hello = (await alice.send(first, 'hello', 'a1')).body.event_id as string;
  await compare(t, windowed, plain, { rooms: [first], users: [alice.user, bob.user], devices }, window);

  // A reaction and a redaction name events the window holds; an edit names one it trimmed.
  await bob.put(`${roomPath(first)}/send/m.reaction/r1`, { 'm.relates_to': { rel_type: 'm.annotation', event_id: hello, key: '👍' } });
  const second = await alice.createRoom({ preset: 'public_chat' });
  for (let i = 0; i < 5; i++) await (i % 2 ? alice : bob).send(first, `m${i}`, `m${i}`);
  await alice.put(`${roomPath(first)}/redact/${encodeURIComponent(hello)}/x1`, { reason: 'gone' });
  await bob.post(`/join/${encodeURIComponent(second)}`);
  await compare(t, windowed, plain, { rooms: [first, second], users: [alice.user, bob.user], devices }, window);

  // Bob leaves and comes back: his membership changes are read across the window's member floor.
  await bob.post(`${roomPath(first)}/leave`);
  await bob.post(`/join/${encodeURIComponent(first)}`);
  await alice.put(`${roomPath(second)}/state/m.room.topic/`, { topic: 'news' });
  await compare(t, windowed, plain, { rooms: [first, second], users: [alice.user, bob.user], devices }, window);

  // More than a catch-up reads at once: the window starts again from there.
  for (let i = 0; i < 14; i++) await alice.send(second, `n${i}`, `n${i}`);
  await compare(t, windowed, plain, { rooms: [first, second], users: [alice.user, bob.user], devices }, window);
});

eachEngine(t, 'snapshots catching up at the same time all get the whole timeline', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const windowed = createSyncStore(db.sql, { streamWindow: LIMITS });
  const plain = createSyncStore(db.sql, { streamWindow: false });
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await windowed.snapshot((reads) => reads.positions());
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  for (let i = 0; i < 3; i++) await alice.send(roomId, `m${i}`, `m${i}`);
  const timelines = (store: SyncStore) =>
    store.snapshot(async (reads) => {
      const { events } = await reads.positions();
      return ids((await reads.timeline(roomId, 0, events, 50)).events);
    });
  const [one, two, truth] = await Promise.all([timelines(windowed), timelines(windowed), timelines(plain)]);
  t.same(one, truth);
  t.same(two, truth);
});

eachEngine(t, 'the window answers woken syncs itself and leaves older questions to the database', async (t, db) => {
  const { alice, bob, devices } = await world(t, db);
  const window = new StreamWindow(new EventCache(100), LIMITS);
  const position = async () => (await createSyncStore(db.sql, { streamWindow: false }).snapshot((reads) => reads.positions())).events;
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  const start = await position();
  await window.catchUp(db.sql, start, false);
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const hello = (await alice.send(roomId, 'hello', 'a1')).body.event_id as string;
  const now = await position();
  await window.catchUp(db.sql, now, false);

  t.same(window.timeline(roomId, start, now, 10)?.events.map(({ event }) => event.type), ['m.room.member', 'm.room.message'], 'the new events, from memory');
  t.equal(window.timeline(roomId, start - 1, now, 10), undefined, 'reaching below the window: the database answers');
  t.same(window.membershipChanges(bob.user, start, now)?.map((row) => row.membership), ['join']);
  t.equal(typeof window.stateGroupAt(roomId, now), 'number', 'the state after the newest event, from memory');
  t.ok(window.unreferenced(hello), 'nothing names the message yet');
  t.same([...(window.transactionIds(alice.user, devices[0]!, [hello]) ?? [])], [[hello, 'a1']], "the sender's device learns its transaction id from memory");
  t.same([...(window.transactionIds(alice.user, 'OTHER', [hello]) ?? [])], [], 'another device of hers does not');
  t.same([...(window.transactionIds(bob.user, devices[1]!, [hello]) ?? [])], [], 'nor does another user');
  t.equal(window.timeline(roomId, now, now + 1, 10), undefined, 'beyond what the window reached: the database answers');

  await bob.put(`${roomPath(roomId)}/send/m.reaction/r1`, { 'm.relates_to': { rel_type: 'm.annotation', event_id: hello, key: '👍' } });
  await window.catchUp(db.sql, await position(), false);
  t.notOk(window.unreferenced(hello), 'a reaction names it: its relations are read from the database');
});

eachEngine(t, 'a caller holding a connection never waits for a read queued for the pool', async (t, db) => {
  const { alice } = await world(t, db);
  const window = new StreamWindow(new EventCache(100), LIMITS);
  const position = async () => (await createSyncStore(db.sql, { streamWindow: false }).snapshot((reads) => reads.positions())).events;
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  const start = await position();
  await window.catchUp(db.sql, start, false);
  await alice.send(roomId, 'hello', 'a1');
  const now = await position();
  // A pool read that never gets a connection: every connection is held by callers like the next one.
  const stuck = (() => new Promise(() => {})) as unknown as Parameters<StreamWindow['catchUp']>[0];
  void window.catchUp(stuck, now, false);
  await window.catchUp(db.sql, now, true);
  t.same(window.timeline(roomId, start, now, 10)?.events.map(({ event }) => event.content.body), ['hello'], 'it read for itself');
});

eachEngine(t, 'standing reads of syncs woken together are one statement, each sync getting its own answers', async (t, db) => {
  const { alice, bob, devices } = await world(t, db);
  const store = createSyncStore(db.sql);
  const alone = await alice.createRoom({ preset: 'private_chat' });
  const shared = await bob.createRoom({ preset: 'public_chat' });
  await alice.post(`/join/${encodeURIComponent(shared)}`);
  await bob.put(`/user/${encodeURIComponent(bob.user)}/account_data/m.ignored_user_list`, { ignored_users: { '@carol:test': {} } });
  const standing = (userId: string, deviceId: string) =>
    store.snapshot((reads) => reads.standing(userId, deviceId, ['m.ignored_user_list']));
  let statements = 0;
  const counting = new Proxy(db.sql, {
    apply: (target, self, args) => {
      statements++;
      return Reflect.apply(target, self, args);
    },
  });
  const batched = createSyncStore(counting, { streamWindow: LIMITS });
  const read = (userId: string, deviceId: string) => batched.snapshot((reads) => reads.standing(userId, deviceId, ['m.ignored_user_list']));
  // The window's first catch-up is a read of its own: out of the way first. Calls of the query function
  // count statements and the fragments they embed alike: two reads together must cost what one does.
  await read(alice.user, devices[0]!);
  statements = 0;
  await read(alice.user, devices[0]!);
  const one = statements;
  statements = 0;
  const [hers, his] = await Promise.all([read(alice.user, devices[0]!), read(bob.user, devices[1]!)]);
  t.equal(statements, one, 'one statement for both');
  t.same(hers.memberships.map((row) => row.roomId).sort(), [alone, shared].sort(), 'she gets her rooms');
  t.same(his.memberships.map((row) => row.roomId), [shared], 'he gets his');
  t.equal(hers.accountData.get('m.ignored_user_list'), undefined);
  t.same(his.accountData.get('m.ignored_user_list'), { ignored_users: { '@carol:test': {} } });
  t.same(hers, await standing(alice.user, devices[0]!), 'as a read of her own answers');
  t.same(his, await standing(bob.user, devices[1]!), 'and his');

  // A sync holding the account data as of a position asks only for what was written after it.
  t.equal(hers.accountDataAt, 0, 'she has none of the asked account data');
  t.ok(his.accountDataAt > 0, 'he has');
  const held = (userId: string, deviceId: string, after: number) =>
    batched.snapshot((reads) => reads.standing(userId, deviceId, ['m.ignored_user_list'], after));
  const [unchanged, whole] = await Promise.all([held(bob.user, devices[1]!, his.accountDataAt), held(bob.user, devices[1]!, his.accountDataAt - 1)]);
  t.same([...unchanged.accountData], [], 'nothing written since: no contents');
  t.equal(unchanged.accountDataAt, his.accountDataAt, 'and the same position');
  t.same(whole.accountData, his.accountData, 'in the same batch, a sync holding less gets the contents');
  await bob.put(`/user/${encodeURIComponent(bob.user)}/account_data/m.ignored_user_list`, { ignored_users: {} });
  const rewritten = await held(bob.user, devices[1]!, his.accountDataAt);
  t.same(rewritten.accountData.get('m.ignored_user_list'), { ignored_users: {} }, 'a write since: its contents');
  t.ok(rewritten.accountDataAt > his.accountDataAt, 'at its position');
});

eachEngine(t, 'the events this process commits enter the window as they commit: a woken sync reads none back', async (t, db) => {
  let now = 1_700_000_000_000;
  const { app, streamWindow } = await appOn(t, db, { clock: { now: () => now++ } });
  const aliceSession = await registerUser(app, 'alice');
  const alice = testClient(app, aliceSession);
  const bob = testClient(app, await registerUser(app, 'bob'));
  const position = async () => (await createSyncStore(db.sql, { streamWindow: false }).snapshot((reads) => reads.positions())).events;
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  t.equal(streamWindow.reach, -1, 'before the first snapshot the window holds nothing, and takes nothing in');
  const start = await position();
  await streamWindow.catchUp(db.sql, start, false);

  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const hello = (await alice.send(roomId, 'hello', 'a1')).body.event_id as string;
  const end = await position();
  t.equal(streamWindow.reach, end, 'the window reached the new events as they committed');
  const noRead = (() => {
    throw new Error('the window read the database');
  }) as unknown as Parameters<StreamWindow['catchUp']>[0];
  await streamWindow.catchUp(noRead, end, false);
  t.same(streamWindow.timeline(roomId, start, end, 10)?.events.map(({ event }) => event.type), ['m.room.member', 'm.room.message'], 'the timeline, from memory');
  t.same(streamWindow.membershipChanges(bob.user, start, end)?.map((row) => row.membership), ['join']);
  t.same([...(streamWindow.transactionIds(alice.user, aliceSession.device_id, [hello]) ?? [])], [[hello, 'a1']], 'with the sender\'s transaction id');
  t.ok(streamWindow.unreferenced(hello));
  await bob.put(`${roomPath(roomId)}/send/m.reaction/r1`, { 'm.relates_to': { rel_type: 'm.annotation', event_id: hello, key: '👍' } });
  t.notOk(streamWindow.unreferenced(hello), 'a reaction committed here marks what it names');
  const other = await alice.createRoom({ preset: 'public_chat' });
  const created = await position();
  t.equal(streamWindow.reach, created, 'a room created here enters whole');
  t.equal(streamWindow.timeline(other, start, created, 50)?.events[0]?.event.type, 'm.room.create', 'from its create event on, from memory');

  // Another writer's event (another process, say) leaves a gap: what follows waits for a read.
  const elsewhere = clientRooms(db);
  await elsewhere.sendMessage({ userId: bob.user, deviceId: 'ELSEWHERE' }, roomId, 'm.room.message', undefined, { msgtype: 'm.text', body: 'from elsewhere' });
  await alice.send(roomId, 'after the gap', 'a2');
  const later = await position();
  t.equal(streamWindow.reach, later - 2, 'the window stops before the gap');
  await streamWindow.catchUp(db.sql, later, false);
  t.same(
    streamWindow.timeline(roomId, end, later, 10)?.events.map(({ event }) => event.content.body ?? event.content['m.relates_to']),
    [{ rel_type: 'm.annotation', event_id: hello, key: '👍' }, 'from elsewhere', 'after the gap'],
    'a catch-up reads the rest',
  );
});

t.test('events committed here enter once every event before them has, in whatever order their commits are heard', async (t) => {
  const window = new StreamWindow(new EventCache(100), LIMITS);
  const noRead = (() => {
    throw new Error('the window read the database');
  }) as unknown as Parameters<StreamWindow['catchUp']>[0];
  await window.catchUp(noRead, 10, false);
  const roomId = '!room:example.org';
  const committed = (position: number) => ({
    position,
    stored: { event: fakeEvent({ id: `$event${position}`, roomId }), roomVersion: '10', outlier: false, rejectedReason: null, softFailed: false, streamPosition: position },
    stateBefore: 1,
    stateAfter: 1,
    transactions: [],
  });
  window.append([committed(12)]);
  t.equal(window.reach, 10, 'an event heard before the one ahead of it waits');
  t.equal(window.timeline(roomId, 10, 12, 10), undefined, 'and is not served yet');
  window.append([committed(11)]);
  t.equal(window.reach, 12, 'both enter once the gap is filled');
  await window.catchUp(noRead, 12, false);
  t.same(window.timeline(roomId, 10, 12, 10)?.events.map(({ event }) => event.eventId), ['$event11', '$event12'], 'in position order, from memory');
  window.append([committed(11)]);
  t.equal(window.reach, 12, 'an event heard again changes nothing');
});
