import t from 'tap';
import { stateKey, type RoomEvent, type StateKey } from '../../src/events/event.js';
import type { RoomStore } from '../../src/rooms/ports.js';
import { ADVISORY_LOCK_NAMESPACE, createRoomStore, EVENTS_STREAM_LOCK_ID, MAX_DELTA_CHAIN, type Database } from '../../src/storage/index.js';
import { eachEngine, testDatabase } from '../helpers/database.js';
import { accepted, after, fakeEvent, full, outlier, stateOf } from '../helpers/room-events.js';

const ROOM = '!room:example.org';

async function newRoom(db: Database, roomId = ROOM): Promise<RoomStore> {
  const store = createRoomStore(db.sql);
  await store.withRoomWriteLock(roomId, (tx) =>
    tx.createRoom({ roomId, roomVersion: '10', creator: '@alice:example.org' }),
  );
  return store;
}

/** A create event followed by `count` events, each after the previous; every `stateEvery`th is a member event. */
function chain(count: number, stateEvery: number, roomId = ROOM): RoomEvent[] {
  const events = [fakeEvent({ id: '$create', roomId, type: 'm.room.create', stateKey: '', content: { creator: '@alice:example.org' } })];
  for (let i = 1; i <= count; i++) {
    const isState = i % stateEvery === 0;
    events.push(
      fakeEvent({
        id: `$e${i}`,
        roomId,
        prev: [events[i - 1]!.eventId],
        depth: i + 1,
        ...(isState
          ? { type: 'm.room.member', stateKey: `@u${i % 37}:example.org`, content: { membership: 'join', n: i } }
          : {}),
      }),
    );
  }
  return events;
}

/** What the state after each event of a chain must be, computed the slow, obvious way. */
function expectedStates(events: readonly RoomEvent[]): Map<StateKey, string>[] {
  const states: Map<StateKey, string>[] = [];
  const state = new Map<StateKey, string>();
  for (const event of events) {
    if (event.stateKey !== undefined) state.set(stateKey(event.type, event.stateKey), event.eventId);
    states.push(new Map(state));
  }
  return states;
}

void eachEngine(t, 'an event reads back with its JSON text unchanged', async (t, db) => {
  const store = await newRoom(db);
  // Key order that canonical JSON would sort, non-ASCII text, an escaped character, a float (v1-5 allow
  // them), integer-like keys and a nested order: all must survive.
  const pdu = {
    type: 'm.room.message',
    sender: '@zoë:example.org',
    room_id: ROOM,
    content: { body: 'Grüße 🙂 "quoted" \\ back\nslash — 你好', msgtype: 'm.text', z: 1, a: { y: 2.5, b: [3, 'x'] }, '10': 'ten', '2': 'two' },
    depth: 7,
    prev_events: [],
    auth_events: [],
    origin_server_ts: 1_700_000_000_123,
    hashes: { sha256: 'aGFzaA' },
    signatures: { 'example.org': { 'ed25519:1': 'c2ln' } },
    unsigned: { age: 5 },
  };
  const event = fakeEvent({ id: '$unicode', roomId: ROOM, pdu, content: pdu.content, sender: pdu.sender, depth: 7, ts: pdu.origin_server_ts });
  await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(event, full(new Map()))]));

  const [row] = await db.sql<{ json: string }[]>`select json from events where event_id = '$unicode'`;
  t.equal(row?.json, JSON.stringify(event.pdu), 'the stored text is the JSON of the PDU as given');
  t.ok(row?.json.startsWith('{"type":"m.room.message","sender":"@zoë:example.org"'), 'keys keep their order');
  const stored = (await store.events(['$unicode'])).get('$unicode');
  t.equal(JSON.stringify(stored?.event.pdu), JSON.stringify(event.pdu), 'the PDU reads back byte for byte');
  t.same(stored?.event, event, 'the checked view reads back field for field');
  t.equal(stored?.roomVersion, '10');
  t.same((await store.events(['$missing'])).size, 0, 'a missing id is absent');
});

void eachEngine(t, 'a batch larger than one insert statement stores every event, edge and position in order', async (t, db) => {
  const store = await newRoom(db);
  // About 3 MB of event JSON, several statements' worth; outliers and timeline events mixed, each after the last.
  const events = [fakeEvent({ id: '$create', roomId: ROOM, type: 'm.room.create', stateKey: '', content: { creator: '@alice:example.org' } })];
  for (let i = 1; i <= 600; i++) {
    events.push(fakeEvent({ id: `$big${i}`, roomId: ROOM, prev: [events[i - 1]!.eventId], depth: i + 1, content: { msgtype: 'm.text', body: `${i} ${'x'.repeat(5000)}` } }));
  }
  const inputs = events.map((event, i) => (i % 3 === 1 ? outlier(event) : accepted(event, full(new Map()))));
  const positions = await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, inputs));

  const stored = await store.events(events.map((e) => e.eventId));
  t.equal(stored.size, events.length, 'every event is stored');
  t.ok(events.every((e) => JSON.stringify(stored.get(e.eventId)?.event.pdu) === JSON.stringify(e.pdu)), 'each with its own JSON');
  const timeline = positions.filter((p): p is number => p !== null);
  t.equal(timeline.length, events.length - 200, 'outliers get no position');
  t.ok(timeline.every((p, i) => i === 0 || p > timeline[i - 1]!), 'positions increase in the order given');
  const [edges] = await db.sql<{ n: number }[]>`select count(*)::int as n from event_edges where event_id like '$big%'`;
  t.equal(edges?.n, 600, 'every prev edge is stored');
});

void eachEngine(t, 'stream positions: increasing, none for outliers and rejected events', async (t, db) => {
  const store = await newRoom(db);
  t.equal(await store.eventsStreamPosition(), 0, 'an empty stream is at 0');
  const events = chain(4, 2);
  const create = events[0]!;
  const positions = await store.withRoomWriteLock(ROOM, (tx) =>
    tx.persistEvents(ROOM, [
      accepted(create, full(new Map())),
      outlier(fakeEvent({ id: '$outlier', roomId: ROOM })),
      { ...accepted(events[1]!, after('$create')), rejectedReason: 'not allowed' },
      { ...accepted(events[2]!, after('$create')), softFailed: true },
    ]),
  );
  t.equal(positions[1], null, 'an outlier has no position');
  t.equal(positions[2], null, 'a rejected event has no position');
  t.ok(positions[0]! > 0 && positions[3]! > positions[0]!, 'positions increase; a soft-failed event has one');
  const more = await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(events[3]!, after('$e2'))]));
  t.ok(more[0]! > positions[3]!, 'a later transaction gets a higher position');
  t.equal(await store.eventsStreamPosition(), more[0], 'the stream position is the highest committed');
  t.same(await db.sql`select event_id from event_search order by event_id`, [{ event_id: '$e3' }],
    'search finds timeline messages only: no row for the outlier or the rejected message');

  const stored = await store.events(['$outlier', '$e1', '$e2']);
  t.same(
    [...stored.values()].map((s) => [s.event.eventId, s.outlier, s.rejectedReason, s.softFailed, s.streamPosition]).sort(),
    [
      ['$e1', false, 'not allowed', false, null],
      ['$e2', false, null, true, positions[3]],
      ['$outlier', true, null, false, null],
    ],
  );
  t.equal(await store.stateAfter('$outlier'), undefined, 'an outlier has no stored state');
  t.same(await store.stateAfter('$e1'), stateOf([['m.room.create', '', '$create']]), 'a rejected event changes no state');
  t.same(
    await store.stateAfter('$e2'),
    stateOf([['m.room.create', '', '$create'], ['m.room.member', '@u2:example.org', '$e2']]),
    'a soft-failed state event is in the state after it',
  );
});

void eachEngine(t, 'state before and after every event of a long chain, with bounded delta chains', async (t, db) => {
  const store = await newRoom(db);
  const count = 1200;
  const events = chain(count, 3);
  const batches: RoomEvent[][] = [];
  for (let i = 0; i < events.length; i += 200) batches.push(events.slice(i, i + 200));
  for (const batch of batches) {
    await store.withRoomWriteLock(ROOM, (tx) =>
      tx.persistEvents(
        ROOM,
        batch.map((event) => accepted(event, event.prevEvents[0] === undefined ? full(new Map()) : after(event.prevEvents[0]))),
      ),
    );
  }
  const expected = expectedStates(events);
  // A fresh store: no cache, every state is rebuilt from the database.
  const reader = createRoomStore(db.sql);
  let wrong = 0;
  for (let i = 0; i < events.length; i += 7) {
    const id = events[i]!.eventId;
    if (!sameMap(await reader.stateAfter(id), expected[i]!)) wrong++;
    if (!sameMap(await reader.stateBefore(id), i === 0 ? new Map() : expected[i - 1]!)) wrong++;
  }
  t.equal(wrong, 0, 'every sampled state before and after matches');
  t.same(await reader.stateAfter(events.at(-1)!.eventId), expected.at(-1), 'the state after the last event');

  const stateChanges = events.filter((e) => e.stateKey !== undefined).length;
  const [groups] = await db.sql<{ n: number; snapshots: number; longest: number }[]>`
    select count(*)::int as n, count(*) filter (where parent_group is null)::int as snapshots,
      max(chain_length) as longest from state_groups`;
  t.equal(groups?.n, stateChanges + 1, 'one group per state change (plus the empty state), none per message');
  t.ok((groups?.longest ?? Infinity) <= MAX_DELTA_CHAIN, `delta chains stay within ${MAX_DELTA_CHAIN}`);
  t.equal(groups?.snapshots, 1 + Math.floor(stateChanges / (MAX_DELTA_CHAIN + 1)), 'a snapshot every so often');
  const [entries] = await db.sql<{ n: number }[]>`select count(*)::int as n from state_group_entries`;
  const stateSize = expected.at(-1)!.size;
  t.ok(
    (entries?.n ?? Infinity) <= stateChanges + (groups?.snapshots ?? 0) * stateSize,
    `${entries?.n} entry rows for ${stateChanges} state changes over ${events.length} events (not events x state)`,
  );
});

void eachEngine(t, 'a resolved state that drops entries is stored and read back without them', async (t, db) => {
  const store = await newRoom(db);
  const [create, a, b] = chain(2, 1);
  await store.withRoomWriteLock(ROOM, async (tx) => {
    await tx.persistEvents(ROOM, [accepted(create!, full(new Map())), accepted(a!, after('$create')), accepted(b!, after('$e1'))]);
    await tx.setForwardExtremities(ROOM, ['$e2']);
  });
  const before = await store.stateAfter('$e2');
  t.equal(before?.size, 3);
  const dropped = new Map(before);
  dropped.delete(stateKey('m.room.member', '@u1:example.org'));
  const merge = fakeEvent({ id: '$merge', roomId: ROOM, prev: ['$e2'], depth: 4 });
  await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(merge, full(dropped))]));
  t.same(await store.stateBefore('$merge'), dropped, 'the dropped entry is gone');
  t.same(await createRoomStore(db.sql).stateBefore('$merge'), dropped, 'also when rebuilt from the database');
  const [row] = await db.sql<{ parent_group: number | null; n: number }[]>`
    select g.parent_group, (select count(*)::int from state_group_entries x where x.state_group = g.state_group) as n
    from events e join state_groups g on g.state_group = e.state_before where e.event_id = '$merge'`;
  t.ok(row?.parent_group !== null, 'stored as a delta against the extremity');
  t.equal(row?.n, 1, 'holding only the deletion');
});

void eachEngine(t, 'current state: replaced by delta, updated in part, read whole or by key', async (t, db) => {
  const store = await newRoom(db);
  const initial = stateOf([['m.room.create', '', '$c'], ['m.room.member', '@a:x', '$m1'], ['m.room.member', '@b:x', '$m2']]);
  await store.withRoomWriteLock(ROOM, (tx) => tx.setCurrentState(ROOM, initial));
  t.same(await store.currentState(ROOM), initial);
  // xmin names the transaction that last wrote a row: an untouched row keeps it.
  const versions = async () =>
    new Map(
      (await db.sql<{ k: string; v: string }[]>`select type || '|' || state_key as k, xmin::text as v from current_state`).map(
        (r) => [r.k, r.v],
      ),
    );
  const old = await versions();

  const next = stateOf([['m.room.create', '', '$c'], ['m.room.member', '@a:x', '$m3'], ['m.room.name', '', '$n']]);
  await store.withRoomWriteLock(ROOM, (tx) => tx.setCurrentState(ROOM, next));
  t.same(await store.currentState(ROOM), next, 'replaced, the missing key removed');
  const now = await versions();
  t.equal(now.get('m.room.create|'), old.get('m.room.create|'), 'an unchanged entry is not rewritten');
  t.not(now.get('m.room.member|@a:x'), old.get('m.room.member|@a:x'), 'a changed entry is rewritten');

  await store.withRoomWriteLock(ROOM, (tx) => tx.updateCurrentState(ROOM, stateOf([['m.room.topic', '', '$t']])));
  t.equal((await store.currentState(ROOM)).size, 4, 'an update leaves the rest alone');
  t.same(
    await store.currentStateEntries(ROOM, [stateKey('m.room.member', '@a:x'), stateKey('m.room.member', '@zz:x'), stateKey('m.room.topic', '')]),
    stateOf([['m.room.member', '@a:x', '$m3'], ['m.room.topic', '', '$t']]),
    'selected entries; absent ones are left out',
  );
  t.same(await store.currentState('!other:example.org'), new Map(), 'another room has no state');
});

void eachEngine(t, 'forward extremities are replaced per room', async (t, db) => {
  const store = await newRoom(db);
  await newRoom(db, '!other:example.org');
  await store.withRoomWriteLock(ROOM, (tx) => tx.setForwardExtremities(ROOM, ['$a', '$b']));
  await store.withRoomWriteLock('!other:example.org', (tx) => tx.setForwardExtremities('!other:example.org', ['$x']));
  t.same(await store.forwardExtremities(ROOM), ['$a', '$b']);
  await store.withRoomWriteLock(ROOM, (tx) => tx.setForwardExtremities(ROOM, ['$b', '$c']));
  t.same(await store.forwardExtremities(ROOM), ['$b', '$c']);
  t.same(await store.forwardExtremities('!other:example.org'), ['$x'], 'other rooms are untouched');
});

void eachEngine(t, 'a write that fails inside the lock leaves nothing behind', async (t, db) => {
  const store = await newRoom(db);
  const [create, a] = chain(1, 1);
  await t.rejects(
    store.withRoomWriteLock(ROOM, async (tx) => {
      await tx.persistEvents(ROOM, [accepted(create!, full(new Map())), accepted(a!, after('$create'))]);
      await tx.setForwardExtremities(ROOM, ['$e1']);
      await tx.updateCurrentState(ROOM, stateOf([['m.room.create', '', '$create']]));
      throw new Error('auth said no halfway');
    }),
    { message: 'auth said no halfway' },
  );
  const counts = await db.sql<{ n: number }[]>`
    select (select count(*) from events) + (select count(*) from state_groups) + (select count(*) from event_edges)
      + (select count(*) from forward_extremities) + (select count(*) from current_state) as n`;
  t.equal(counts[0]?.n, 0, 'no event, group, edge, extremity or state row');
  t.equal(await store.eventsStreamPosition(), 0);
  // A persist that fails on its own (a missing state reference) also leaves nothing.
  await t.rejects(
    store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(create!, full(new Map())), accepted(a!, after('$nowhere'))])),
    { message: /\$nowhere is not stored/ },
  );
  t.same((await store.events(['$create'])).size, 0);
  const positions = await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(create!, full(new Map()))]));
  t.ok(positions[0]! > 0, 'the room still works afterwards');
});

void eachEngine(t, 'persisting a stored event id again changes nothing', async (t, db) => {
  const store = await newRoom(db);
  const [create, a] = chain(1, 1);
  const first = await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(create!, full(new Map())), accepted(a!, after('$create'))]));
  const rows = () => db.sql<{ events: number; groups: number; edges: number }[]>`
    select (select count(*)::int from events) as events, (select count(*)::int from state_groups) as groups,
      (select count(*)::int from event_edges) as edges`;
  const [before] = await rows();
  const changed = fakeEvent({ id: '$e1', roomId: ROOM, content: { body: 'forged' } });
  const again = await store.withRoomWriteLock(ROOM, (tx) =>
    tx.persistEvents(ROOM, [accepted(changed, full(new Map())), outlier(create!), accepted(a!, after('$create'))]),
  );
  t.same(again, [first[1], first[0], first[1]], 'the existing positions are returned, repeats in a batch included');
  t.same((await store.events(['$e1'])).get('$e1')?.event.content, a!.content, 'the stored event is kept');
  t.same(await rows(), [before], 'no new rows');
  t.equal(before?.events, 2);
  t.equal(await store.eventsStreamPosition(), first[1], 'no position was used');
});

void eachEngine(t, 'two writers of one room take turns', async (t, db) => {
  const store = await newRoom(db);
  const order: string[] = [];
  let releaseFirst!: () => void;
  const held = new Promise<void>((resolve) => (releaseFirst = resolve));
  let firstInside!: () => void;
  const inside = new Promise<void>((resolve) => (firstInside = resolve));
  const first = store.withRoomWriteLock(ROOM, async (tx) => {
    order.push('first in');
    await tx.setForwardExtremities(ROOM, ['$first']);
    firstInside();
    await held;
    order.push('first out');
  });
  await inside;
  const second = store.withRoomWriteLock(ROOM, async (tx) => {
    order.push('second in');
    t.same(await tx.forwardExtremities(ROOM), ['$first'], "the second sees the first's committed write");
    await tx.setForwardExtremities(ROOM, ['$second']);
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(order, ['first in'], 'the second waits');
  if (db.engine === 'postgres') {
    // The pool has other connections: the wait is on the room's advisory lock, not on the pool.
    const [waiting] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from pg_locks
      where locktype = 'advisory' and not granted
        and database = (select oid from pg_database where datname = current_database())`;
    t.equal(waiting?.n, 1, 'the second transaction waits on the advisory lock');
    const other = createRoomStore(db.sql);
    await t.resolves(other.withRoomWriteLock('!elsewhere:example.org', async () => undefined), 'another room is not held up');
  }
  releaseFirst();
  await Promise.all([first, second]);
  t.same(order, ['first in', 'first out', 'second in']);
  t.same(await store.forwardExtremities(ROOM), ['$second']);
});

void eachEngine(t, 'persist refuses an unknown room and foreign events', async (t, db) => {
  const store = await newRoom(db);
  await t.rejects(
    store.withRoomWriteLock('!nope:x', (tx) => tx.persistEvents('!nope:x', [outlier(fakeEvent({ id: '$n', roomId: '!nope:x' }))])),
    { name: 'StorageError', message: /unknown room !nope:x/ },
  );
  await t.rejects(
    store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [outlier(fakeEvent({ id: '$n', roomId: '!nope:x' }))])),
    { message: /belongs to !nope:x/ },
  );
});

function sameMap(actual: ReadonlyMap<StateKey, string> | undefined, expected: ReadonlyMap<StateKey, string>): boolean {
  if (actual === undefined || actual.size !== expected.size) return false;
  for (const [key, value] of expected) if (actual.get(key) !== value) return false;
  return true;
}

void eachEngine(t, 'writers of different rooms commit in stream order', async (t, db) => {
  if (db.engine !== 'postgres') {
    t.comment('one connection: transactions cannot overlap on the embedded engine');
    return;
  }
  const store = await newRoom(db);
  await newRoom(db, '!two:example.org');
  let releaseFirst!: () => void;
  const held = new Promise<void>((resolve) => (releaseFirst = resolve));
  let drawn!: (position: number) => void;
  const firstPosition = new Promise<number>((resolve) => (drawn = resolve));
  const first = store.withRoomWriteLock(ROOM, async (tx) => {
    const [position] = await tx.persistEvents(ROOM, [accepted(fakeEvent({ id: '$one', roomId: ROOM }), full(new Map()))]);
    drawn(position!);
    await held;
  });
  const p1 = await firstPosition;
  let secondDone = false;
  const second = store
    .withRoomWriteLock('!two:example.org', (tx) =>
      tx.persistEvents('!two:example.org', [accepted(fakeEvent({ id: '$two', roomId: '!two:example.org' }), full(new Map()))]),
    )
    .finally(() => (secondDone = true));
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.notOk(secondDone, 'the other room waits to draw a position while a lower one is uncommitted');
  t.equal(await store.eventsStreamPosition(), 0, 'readers never see past an uncommitted position');
  releaseFirst();
  await first;
  const [p2] = await second;
  t.ok(p2! > p1, 'the waiting writer draws the next position after the first commits');
  t.equal(await store.eventsStreamPosition(), p2);
});

void eachEngine(t, 'state given as a change against the state before an event', async (t, db) => {
  const store = await newRoom(db);
  const [create, a] = chain(1, 1);
  const b = fakeEvent({ id: '$b', roomId: ROOM, prev: ['$create'], depth: 2 });
  await store.withRoomWriteLock(ROOM, (tx) =>
    tx.persistEvents(ROOM, [
      accepted(create!, full(new Map())),
      accepted(a!, after('$create')),
      accepted(b, { kind: 'before-event', eventId: '$e1', changes: stateOf([['m.room.topic', '', '$t']]) }),
    ]),
  );
  t.same(await store.stateBefore('$b'), stateOf([['m.room.create', '', '$create'], ['m.room.topic', '', '$t']]));
  t.same(await store.stateAfter('$b'), await store.stateBefore('$b'), 'a message changes no state');
  t.equal(await store.stateBefore('$nowhere'), undefined);
});

void eachEngine(t, 'backfilled events go below the timeline, and an outlier among them moves onto it', async (t, db) => {
  const store = await newRoom(db);
  const create = fakeEvent({ id: '$create', roomId: ROOM, type: 'm.room.create', stateKey: '', content: { creator: '@alice:example.org' } });
  const name = fakeEvent({ id: '$name', roomId: ROOM, type: 'm.room.name', stateKey: '', content: { name: 'Old' }, prev: ['$create'], depth: 2 });
  const join = fakeEvent({ id: '$join', roomId: ROOM, type: 'm.room.member', stateKey: '@bob:example.org', content: { membership: 'join' }, prev: ['$name'], depth: 3 });
  // As after a remote join: the state came as outliers, the join is the first timeline event.
  const [, , joinPosition] = await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [
    outlier(create), outlier(name), accepted(join, full(stateOf([['m.room.create', '', '$create'], ['m.room.name', '', '$name']]))),
  ]));
  t.same(await store.backwardExtremities(ROOM, 10), ['$name'], 'the history goes on before the join');
  t.equal((await store.events(['$name'])).get('$name')?.outlier, true, 'read (and cached) as an outlier');

  const positions = await store.backfillPositions(2);
  t.ok(positions[0]! < positions[1]! && positions[1]! < 0, 'backfill positions are negative and ascending');
  t.ok((await store.backfillPositions(1))[0]! < positions[0]!, 'a later batch goes below the one before');
  const given = await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [
    { ...accepted(create, full(new Map())), backfillPosition: positions[0]! },
    { ...accepted(name, after('$create')), backfillPosition: positions[1]! },
  ]));
  t.same(given, positions, 'the outliers took the positions given');
  t.same(await db.sql`select event_id from event_search where vector @@ to_tsquery('english', 'old')`, [{ event_id: '$name' }],
    'the room name moved onto the timeline can be searched for');

  const moved = (await store.events(['$name'])).get('$name');
  t.match(moved, { outlier: false, streamPosition: positions[1] }, 'the cached outlier copy is gone');
  t.same(await store.stateAfter('$name'), stateOf([['m.room.create', '', '$create'], ['m.room.name', '', '$name']]), 'with its state');
  const timeline = await store.timelineEvents(ROOM, { dir: 'b', from: joinPosition!, limit: 10 });
  t.same(timeline.map((e) => e.event.eventId), ['$join', '$name', '$create'], 'paging back reads through them');
  const forwards = await store.timelineEvents(ROOM, { dir: 'f', from: Number.MIN_SAFE_INTEGER, limit: 10 });
  t.same(forwards.map((e) => e.event.eventId), ['$create', '$name', '$join'], 'and forwards from the start');
  t.same(await store.backwardExtremities(ROOM, 10), [], 'the history now reaches the create event');
  t.equal(await store.eventsStreamPosition(), joinPosition, 'the events stream did not move: sync sees nothing new');
});

void eachEngine(t, 'what a write transaction that rolls back read or wrote is not remembered', async (t, db) => {
  const store = createRoomStore(db.sql);
  const other = '!other:example.org';
  await t.rejects(
    store.withRoomWriteLock(other, async (tx) => {
      await tx.createRoom({ roomId: other, roomVersion: '10', creator: '@alice:example.org' });
      t.ok(await tx.room(other), 'the transaction sees its own room');
      const [create] = chain(0, 1, other);
      await tx.persistEvents(other, [accepted(create!, full(new Map()))]);
      t.equal((await tx.events(['$create'])).size, 1, 'and its own event');
      throw new Error('rolled back');
    }),
    { message: 'rolled back' },
  );
  t.equal(await store.room(other), undefined, 'the room is unknown afterwards');
  t.equal((await store.events(['$create'])).size, 0, 'so is the event');

  // Committed, both are remembered: a later transaction finds them without reading them again.
  await store.withRoomWriteLock(other, (tx) => tx.createRoom({ roomId: other, roomVersion: '10', creator: '@alice:example.org' }));
  t.match(await store.room(other), { roomVersion: '10' });
  await db.sql`update rooms set room_version = '9' where room_id = ${other}`;
  t.match(await store.withRoomWriteLock(other, (tx) => tx.room(other)), { roomVersion: '10' }, 'the transaction took the room from memory');
});

void eachEngine(t, 'positions commit in order: a writer in another room waits while one drawn before it is open', async (t, db) => {
  const store = await newRoom(db);
  const other = '!other:example.org';
  await store.withRoomWriteLock(other, (tx) => tx.createRoom({ roomId: other, roomVersion: '10', creator: '@alice:example.org' }));
  const [create] = chain(0, 1);
  const [otherCreate] = chain(0, 1, other).map((event) => ({ ...event, eventId: '$other-create' }));
  let release!: () => void;
  const held = new Promise<void>((done) => (release = done));
  let drawn!: () => void;
  const hasDrawn = new Promise<void>((done) => (drawn = done));
  const first = store.withRoomWriteLock(ROOM, async (tx) => {
    const positions = await tx.persistEvents(ROOM, [accepted(create!, full(new Map()))]);
    drawn();
    await held;
    return positions[0]!;
  });
  await hasDrawn;
  let secondDone = false;
  const second = store.withRoomWriteLock(other, (tx) => tx.persistEvents(other, [accepted(otherCreate!, full(new Map()))])).then((positions) => {
    secondDone = true;
    return positions[0]!;
  });
  await new Promise((done) => setTimeout(done, 300));
  t.notOk(secondDone, 'the second writer waits');
  release();
  const [one, two] = await Promise.all([first, second]);
  t.ok(two > one, 'the later writer gets the later position');
});

void eachEngine(t, 'the last events of a transaction commit with their own statements; a failure before them writes nothing', async (t, db) => {
  const store = await newRoom(db);
  const [create, a, b] = chain(2, 5);
  const [position] = await store.withRoomWriteLock(ROOM, async (tx) => {
    const positions = await tx.persistEvents(ROOM, [accepted(create!, full(new Map()))], { last: true });
    t.throws(() => tx.setForwardExtremities(ROOM, ['$create']), /has committed/, 'nothing may use the transaction after');
    return positions;
  });
  t.equal(await store.eventsStreamPosition(), position, 'committed');

  // A row written before the events fails (no such room): the commit that went out with them rolls back.
  await t.rejects(
    store.withRoomWriteLock(ROOM, async (tx) => {
      const failing = tx.setForwardExtremities('!nowhere:example.org', ['$e1']);
      const persisted = tx.persistEvents(ROOM, [accepted(a!, after('$create'))], { last: true });
      await Promise.all([failing, persisted]);
    }),
    { code: '23503' },
  );
  t.equal((await store.events(['$e1'])).size, 0, 'the event is not stored');
  t.equal(await store.eventsStreamPosition(), position, 'and the stream did not move');
  const [later] = await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(b!, after('$create'))], { last: true }));
  t.ok(later! > position!, 'the room still takes events');
});

void eachEngine(t, 'reads sent with the lock answer as the transaction\'s own reads would, until it writes', async (t, db) => {
  const store = await newRoom(db);
  const create = fakeEvent({ id: '$create', roomId: ROOM, type: 'm.room.create', stateKey: '', content: { creator: '@alice:example.org' } });
  const join = fakeEvent({ id: '$join', roomId: ROOM, type: 'm.room.member', stateKey: '@alice:example.org', content: { membership: 'join' }, prev: ['$create'], depth: 2 });
  const txn = { userId: '@alice:example.org', deviceId: 'DEVICE', roomId: ROOM, txnId: 't1' };
  await store.withRoomWriteLock(ROOM, async (tx) => {
    await tx.persistEvents(ROOM, [accepted(create, full(new Map())), accepted(join, after('$create'))]);
    await tx.setForwardExtremities(ROOM, ['$join']);
    await tx.updateCurrentState(ROOM, stateOf([['m.room.create', '', '$create'], ['m.room.member', '@alice:example.org', '$join']]));
    await tx.recordTransaction(txn, '$join');
  });
  const createKey = stateKey('m.room.create', '');
  const memberKey = stateKey('m.room.member', '@alice:example.org');
  const powerKey = stateKey('m.room.power_levels', '');
  const prefetch = { extremities: true, stateKeys: [createKey, memberKey, powerKey], transaction: txn };
  await store.withRoomWriteLock(ROOM, async (tx) => {
    t.same(await tx.forwardExtremities(ROOM), ['$join'], 'the extremities');
    t.same([...(await tx.currentStateEntries(ROOM, [memberKey, powerKey]))], [[memberKey, '$join']], 'the state asked for, of the keys sent');
    t.same([...(await tx.currentStateEntries(ROOM, [stateKey('m.room.topic', '')]))], [], 'a key not sent is read');
    t.equal(await tx.transactionEvent(txn), '$join', 'the transaction id');
    t.equal(await tx.transactionEvent({ ...txn, txnId: 't2' }), undefined, 'another transaction id is read');
    const message = fakeEvent({ id: '$message', roomId: ROOM, prev: ['$join'], depth: 3 });
    await tx.persistEvents(ROOM, [accepted(message, after('$join'))]);
    await tx.setForwardExtremities(ROOM, ['$message']);
    t.same(await tx.forwardExtremities(ROOM), ['$message'], 'after a write, the transaction reads its own writes');
  }, { prefetch });
  // A lock that is not free: the prefetched reads wait for it with the BEGIN, and see what its holder committed.
  let release!: () => void;
  const held = new Promise<void>((done) => (release = done));
  const holder = store.withRoomWriteLock(ROOM, async (tx) => {
    await held;
    await tx.setForwardExtremities(ROOM, ['$other']);
  });
  await new Promise((done) => setTimeout(done, 50));
  const waiting = store.withRoomWriteLock(ROOM, (tx) => tx.forwardExtremities(ROOM), { prefetch });
  await new Promise((done) => setTimeout(done, 50));
  release();
  await holder;
  t.same(await waiting, ['$other'], 'the reads ran once the lock was held');
  // Any one of the reads may be prefetched alone.
  await store.withRoomWriteLock(ROOM, async (tx) => t.equal(await tx.transactionEvent(txn), '$join', 'a transaction id prefetched alone'), { prefetch: { transaction: txn } });
  await store.withRoomWriteLock(ROOM, async (tx) => {
    t.same([...(await tx.currentStateEntries(ROOM, [createKey]))], [[createKey, '$create']], 'state prefetched alone');
  }, { prefetch: { stateKeys: [createKey] } });
  await store.withRoomWriteLock(ROOM, async (tx) => t.same(await tx.forwardExtremities(ROOM), ['$other'], 'extremities prefetched alone'), { prefetch: { extremities: true } });
});

t.test("a message's search row is written before its insert waits for the events-stream lock", { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL (the embedded engine serves one connection at a time)' }, async (t) => {
  const db = await testDatabase(t, { engine: 'postgres' });
  const store = await newRoom(db);
  const [create] = chain(0, 1);
  await store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(create!, full(new Map()))]));

  // Another writer holds the lock that every room's event inserts take.
  let release = () => {};
  const holder = db.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${EVENTS_STREAM_LOCK_ID})`;
    await new Promise<void>((done) => (release = done));
  });
  const message = fakeEvent({ id: '$message', roomId: ROOM, prev: ['$create'], depth: 2 });
  const persisted = store.withRoomWriteLock(ROOM, (tx) => tx.persistEvents(ROOM, [accepted(message, after('$create'))]));
  // The session waiting for the lock has written to event_search already (it holds that table's row lock).
  let waiter: { readonly indexed: boolean } | undefined;
  for (let i = 0; i < 300 && waiter === undefined; i++) {
    [waiter] = await db.sql<{ indexed: boolean }[]>`
      select exists (select 1 from pg_locks l where l.pid = w.pid and l.granted and l.relation = 'event_search'::regclass) as indexed
      from pg_locks w
      where w.locktype = 'advisory' and not w.granted and w.database = (select oid from pg_database where datname = current_database())`;
    if (waiter === undefined) await new Promise((done) => setTimeout(done, 10));
  }
  release();
  await holder;
  await persisted;
  t.ok(waiter, 'the insert waited for the lock');
  t.equal(waiter?.indexed, true, 'with its search row written before it');
  t.same(await db.sql`select event_id from event_search`, [{ event_id: '$message' }]);
});
