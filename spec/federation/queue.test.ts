import t, { type Test } from 'tap';
import { createFederationSender, type FederationSenderDeps } from '../../src/federation/sender.js';
import { FederationRequestError, type FederationClient, type FederationRequestOptions } from '../../src/federation/index.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createFederationQueueStore } from '../../src/storage/federation-queue-store.js';
import { createRoomStore, type Database } from '../../src/storage/index.js';
import { EventCache } from '../../src/storage/event-cache.js';
import { StreamWindow } from '../../src/storage/stream-window.js';
import { createRoomServer } from '../../src/rooms/room-server.js';
import { eachEngine } from '../helpers/database.js';
import { manualScheduler } from '../helpers/ephemeral.js';
import { counterRandom, LOCAL, localKey, REMOTE, remoteMembership, roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const rob = '@rob:remote.test';

interface SentRequest {
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  readonly body: { origin: string; origin_server_ts: number; pdus: Array<Record<string, unknown>>; edus: Array<{ edu_type: string; content: Record<string, unknown> }> };
}

/** A federation client that records every request and answers as the test says (default: all accepted). */
function fakeClient() {
  const requests: SentRequest[] = [];
  const inFlight = new Map<string, number>();
  let mostInFlight = 0;
  let answer: (request: SentRequest) => Promise<unknown> = async () => ({ pdus: {} });
  const client: FederationClient = {
    async request<T>(destination: string, method: string, path: string, options?: FederationRequestOptions): Promise<T> {
      const request = { destination, method, path, body: options?.body as SentRequest['body'] };
      requests.push(request);
      inFlight.set(destination, (inFlight.get(destination) ?? 0) + 1);
      mostInFlight = Math.max(mostInFlight, inFlight.get(destination)!);
      try {
        // A turn of the event loop, so that a second transaction sent meanwhile would overlap.
        await new Promise((resolve) => setImmediate(resolve));
        return (await answer(request)) as T;
      } finally {
        inFlight.set(destination, inFlight.get(destination)! - 1);
      }
    },
    fetch: () => Promise.reject(new Error('the sender fetches nothing but JSON')),
  };
  return {
    client,
    requests,
    answerWith(fn: (request: SentRequest) => Promise<unknown>) {
      answer = fn;
    },
    mostInFlightPerDestination: () => mostInFlight,
  };
}

const unreachable = async () => {
  throw new FederationRequestError(REMOTE, 'unreachable', 'PUT /send on remote.test failed: connect ECONNREFUSED');
};

/** A room alice created on this server, which rob from remote.test joined over federation. */
async function sharedRoom(t: Test, db: Database, streamWindow?: StreamWindow) {
  const world = roomWorld(t, db, streamWindow === undefined ? {} : { streamWindow });
  const { roomId } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
  const join = await remoteMembership(world, roomId, rob);
  const say = (body: string) => world.rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body } });
  return { ...world, roomId, robJoin: join, say };
}

function newSender(
  db: Database,
  world: ReturnType<typeof roomWorld>,
  client: FederationClient,
  options: Partial<Pick<FederationSenderDeps, 'maxPdus' | 'maxEdus' | 'announce' | 'presenceOf' | 'recentEvents' | 'store'>> = {},
) {
  const scheduler = manualScheduler();
  const sender = createFederationSender({
    store: createFederationQueueStore(db.sql),
    client,
    rooms: world.store,
    serverName: LOCAL,
    clock: world.clock,
    random: counterRandom(),
    log: silentLogger(),
    scheduler,
    backoff: { initialMs: 1_000, maxMs: 4_000 },
    ...options,
  });
  return { sender, scheduler };
}

const bodies = (request: SentRequest) => request.body.pdus.map((p) => (p.content as { body?: string }).body);

t.test('the federation sender', async (t) => {
  await eachEngine(t, 'sends local events to the servers in the room, never to itself, and not what came from elsewhere', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    const { sender } = newSender(db, world, fake.client);
    await sender.start();
    await sender.idle();
    t.same(fake.requests, [], 'the room was created before rob joined; his own join is remote.test\'s to send');

    await world.say('hello');
    sender.eventsAdvanced();
    await sender.idle();
    t.equal(fake.requests.length, 1);
    const [sent] = fake.requests;
    t.match(sent, { destination: REMOTE, method: 'PUT', path: /^\/_matrix\/federation\/v1\/send\/[^/]+$/ });
    t.match(sent!.body, { origin: LOCAL, origin_server_ts: world.clock.now(), edus: [] });
    t.same(bodies(sent!), ['hello']);
    t.match(sent!.body.pdus[0], { sender: alice, room_id: world.roomId, hashes: {}, signatures: { [LOCAL]: {} } }, 'the federation PDU');
    t.notOk('event_id' in sent!.body.pdus[0]!, 'not the client format');
    t.notOk(fake.requests.some((r) => r.destination === LOCAL), 'nothing to this server');
  });

  await eachEngine(t, 'an invite goes to the servers in the room; its withdrawal to the invitee\'s server too', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    const { sender } = newSender(db, world, fake.client);
    await sender.start();
    await world.rooms.invite(world.roomId, alice, '@carol:third.test');
    sender.eventsAdvanced();
    await sender.idle();
    t.same(fake.requests.map((r) => [r.destination, r.body.pdus.map((p) => p.type)]), [[REMOTE, ['m.room.member']]], 'third.test got it by /invite, not here');
    await world.say('after the invite');
    sender.eventsAdvanced();
    await sender.idle();
    t.same(fake.requests.slice(1).map((r) => r.destination), [REMOTE], 'an invited server is not in the room yet');
    await world.rooms.kick(world.roomId, alice, '@carol:third.test', 'changed my mind');
    sender.eventsAdvanced();
    await sender.idle();
    t.same(fake.requests.slice(2).map((r) => r.destination).sort(), [REMOTE, 'third.test'], 'the withdrawn invite reaches the invitee\'s server');
  });

  await eachEngine(t, "the events this process commits are taken from /sync's stream window; another writer's are read", async (t, db) => {
    const window = new StreamWindow(new EventCache(100));
    const world = await sharedRoom(t, db, window);
    const fake = fakeClient();
    const store = createFederationQueueStore(db.sql);
    let reads = 0;
    const { sender } = newSender(db, world, fake.client, {
      store: { ...store, eventsAfter: (position, limit) => (reads++, store.eventsAfter(position, limit)) },
      recentEvents: (after, upTo, limit) => window.eventsAfter(after, upTo, limit),
    });
    await sender.start();
    await sender.idle();
    // The window begins at the first snapshot that reads the stream (a /sync's): here, now.
    await window.catchUp(db.sql, world.positions.at(-1)!, false);
    const atStart = reads;

    await world.say('hello');
    sender.eventsAdvanced(world.positions.at(-1));
    await sender.idle();
    t.same(fake.requests.map(bodies), [['hello']], 'it went to remote.test');
    t.equal(reads, atStart, 'without reading the stream back');

    // Another process's write: this one's window lacks it (a gap), so the stream is read.
    const elsewhere = createRoomServer({
      store: createRoomStore(db.sql),
      notifier: { eventsPersisted: (_roomId, position) => void world.positions.push(position) },
      log: silentLogger(),
      clock: world.clock,
      random: counterRandom(),
      serverName: LOCAL,
      signingKey: localKey,
    });
    await elsewhere.send(world.roomId, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'from elsewhere' } });
    sender.eventsAdvanced(world.positions.at(-1));
    await sender.idle();
    t.same(fake.requests.slice(1).map(bodies), [['from elsewhere']], 'it went too');
    t.ok(reads > atStart, 'read from the database');
    t.equal(window.reach, world.positions.at(-2), 'the window stopped before the gap');

    await world.say('after the gap');
    sender.eventsAdvanced(world.positions.at(-1));
    await sender.idle();
    t.same(fake.requests.slice(2).map(bodies), [['after the gap']], 'nothing lost, nothing twice');
  });

  await eachEngine(t, 'catches up from the stream on start, at most 50 PDUs and 100 EDUs a transaction, one at a time', async (t, db) => {
    const world = await sharedRoom(t, db);
    for (let i = 1; i <= 120; i++) await world.say(`m${i}`);
    const fake = fakeClient();
    const { sender } = newSender(db, world, fake.client);
    for (let i = 0; i < 150; i++) await sender.enqueueEdu([REMOTE, LOCAL], 'm.receipt', { n: i });
    await sender.start();
    await sender.idle();
    t.same(fake.requests.map((r) => [r.body.pdus.length, r.body.edus.length]), [[50, 100], [50, 50], [20, 0]]);
    t.same(fake.requests.flatMap(bodies), Array.from({ length: 120 }, (_, i) => `m${i + 1}`), 'in order, each once');
    t.same(fake.requests.flatMap((r) => r.body.edus.map((e) => e.content.n)), Array.from({ length: 150 }, (_, i) => i));
    t.equal(fake.mostInFlightPerDestination(), 1, 'one transaction in flight per destination');
    t.equal(new Set(fake.requests.map((r) => r.path)).size, 3, 'each transaction has its own id');
  });

  await eachEngine(t, 'backs off doubling up to the cap, retries the same transaction, then catches up', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    fake.answerWith(unreachable);
    const { sender, scheduler } = newSender(db, world, fake.client);
    const store = createFederationQueueStore(db.sql);
    await sender.start();
    await world.say('first');
    sender.eventsAdvanced();
    await sender.idle();
    t.equal(fake.requests.length, 1);
    t.ok(sender.isBackingOff(REMOTE));

    const intervals: number[] = [];
    for (let attempt = 2; attempt <= 5; attempt++) {
      const { retryIntervalMs } = await store.destinationState(REMOTE);
      intervals.push(retryIntervalMs);
      scheduler.fireAll(); // early: the back-off is not over
      await sender.idle();
      t.equal(fake.requests.length, attempt - 1, 'nothing sent before the back-off ends');
      world.clock.advance(retryIntervalMs);
      scheduler.fireAll();
      await sender.idle();
      t.equal(fake.requests.length, attempt);
    }
    intervals.push((await store.destinationState(REMOTE)).retryIntervalMs);
    t.same(intervals, [1_000, 2_000, 4_000, 4_000, 4_000], 'doubling, capped');
    t.equal(new Set(fake.requests.map((r) => r.path)).size, 1, 'the same transaction id every time');
    t.same(new Set(fake.requests.map((r) => JSON.stringify(r.body))).size, 1, 'and the same transaction');

    await world.say('second');
    await world.say('third');
    sender.eventsAdvanced();
    await sender.idle();
    t.equal(fake.requests.length, 5, 'new work waits for the back-off too');

    fake.answerWith(async () => ({ pdus: {} }));
    world.clock.advance(4_000);
    scheduler.fireAll();
    await sender.idle();
    t.same(fake.requests.slice(5).map(bodies), [['first'], ['second', 'third']], 'the failed transaction, then what queued meanwhile');
    t.equal(fake.requests[5]!.path, fake.requests[0]!.path);
    t.notOk(sender.isBackingOff(REMOTE));
    t.match(await store.destinationState(REMOTE), { retryIntervalMs: 0, nextAttemptTs: 0, lastSuccessTs: world.clock.now() });
    t.same(await store.destinationsWithWork(), [], 'nothing left queued');
  });

  await eachEngine(t, 'hearing from a destination ends its back-off', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    fake.answerWith(unreachable);
    const { sender } = newSender(db, world, fake.client);
    await sender.start();
    await world.say('hello');
    sender.eventsAdvanced();
    await sender.idle();
    fake.answerWith(async () => ({ pdus: {} }));
    await sender.destinationReachable(REMOTE);
    await sender.idle();
    t.equal(fake.requests.length, 2, 'retried at once');
    t.notOk(sender.isBackingOff(REMOTE));
  });

  await eachEngine(t, 'a restart resumes queued work, respecting the back-off, and events persisted while stopped', async (t, db) => {
    const world = await sharedRoom(t, db);
    const down = fakeClient();
    down.answerWith(unreachable);
    const first = newSender(db, world, down.client);
    await first.sender.start();
    await world.say('before');
    first.sender.eventsAdvanced();
    await first.sender.idle();
    await first.sender.close();
    await world.say('while stopped');

    const up = fakeClient();
    const second = newSender(db, world, up.client);
    await second.sender.start();
    await second.sender.idle();
    t.same(up.requests, [], 'the persisted back-off holds across the restart');
    world.clock.advance(1_000);
    second.scheduler.fireAll();
    await second.sender.idle();
    t.same(up.requests.flatMap(bodies), ['before', 'while stopped'], 'nothing lost, nothing twice');
  });

  await eachEngine(t, 'events that go to no other server are looked through once; a crash neither loses nor repeats what went out', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    const store = createFederationQueueStore(db.sql);
    const first = newSender(db, world, fake.client);
    await first.sender.start();
    await world.say('hello');
    first.sender.eventsAdvanced();
    await first.sender.idle();
    const { roomId: alone } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'private_chat' });
    for (let i = 0; i < 5; i++) await world.rooms.send(alone, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: `alone ${i}` } });
    first.sender.eventsAdvanced();
    await first.sender.idle();
    t.same(fake.requests.flatMap(bodies), ['hello']);
    const recorded = await store.senderPosition();
    t.ok(recorded < (await world.store.eventsStreamPosition()), 'the events of the room alone are not recorded one by one');

    // A crash: the first sender is never closed. The second looks through those events again.
    await world.say('after the crash');
    const second = newSender(db, world, fake.client);
    await second.sender.start();
    await second.sender.idle();
    t.same(fake.requests.flatMap(bodies), ['hello', 'after the crash'], 'nothing lost, nothing twice');
    await second.sender.close();
    t.equal(await store.senderPosition(), await world.store.eventsStreamPosition(), 'a clean stop records how far it looked');
  });

  await eachEngine(t, 'a refused transaction is dropped; refused PDUs are not retried', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    fake.answerWith(async () => {
      throw new FederationRequestError(REMOTE, 'remote', 'answered HTTP 403 M_FORBIDDEN', { remoteStatus: 403, remoteErrcode: 'M_FORBIDDEN' });
    });
    const { sender, scheduler } = newSender(db, world, fake.client);
    const store = createFederationQueueStore(db.sql);
    await sender.start();
    await world.say('refused');
    sender.eventsAdvanced();
    await sender.idle();
    t.equal(fake.requests.length, 1);
    t.notOk(sender.isBackingOff(REMOTE), 'no back-off for a refusal');
    t.same(await store.destinationsWithWork(), [], 'dropped');

    fake.answerWith(async () => ({ pdus: { [refused.event.eventId]: { error: 'You are not allowed to send a message to this room.' } } }));
    const refused = await world.say('one PDU refused');
    sender.eventsAdvanced();
    await sender.idle();
    world.clock.advance(60_000);
    scheduler.fireAll();
    await sender.idle();
    t.equal(fake.requests.length, 2, 'a per-PDU error is the destination\'s verdict: not sent again');
    t.same(await store.destinationsWithWork(), []);

    fake.answerWith(async () => {
      throw new FederationRequestError(REMOTE, 'remote', 'answered HTTP 502', { remoteStatus: 502 });
    });
    await world.say('bad gateway');
    sender.eventsAdvanced();
    await sender.idle();
    t.ok(sender.isBackingOff(REMOTE), 'a 5xx is retried after a back-off');
    t.same(await store.destinationsWithWork(), [REMOTE]);
  });

  await eachEngine(t, 'a PDU the destination fails on every time is found and dropped; the rest arrives in order', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    const delivered: string[] = [];
    const deliveredEdus: string[] = [];
    let faults = 0;
    fake.answerWith(async (request) => {
      if (bodies(request).includes('poison')) {
        faults++;
        throw new FederationRequestError(REMOTE, 'remote', 'answered HTTP 500 M_UNKNOWN', { remoteStatus: 500, remoteErrcode: 'M_UNKNOWN' });
      }
      delivered.push(...bodies(request).map(String));
      deliveredEdus.push(...request.body.edus.map((e) => String(e.content.device_id)));
      return { pdus: {} };
    });
    const { sender, scheduler } = newSender(db, world, fake.client);
    const store = createFederationQueueStore(db.sql);
    for (const body of ['one', 'two', 'three', 'poison', 'five', 'six']) await world.say(body);
    await sender.enqueueEdu([REMOTE], 'm.direct_to_device', { sender: alice, type: 'm.test', message_id: 'm1', messages: {}, device_id: 'D1' });
    await sender.start();
    await sender.idle();

    let attempts = 0;
    while ((await store.destinationsWithWork()).length > 0 && attempts++ < 100) {
      world.clock.advance(4_000);
      scheduler.fireAll();
      await sender.idle();
    }
    t.same(await store.destinationsWithWork(), [], 'nothing left queued');
    t.same(delivered, ['one', 'two', 'three', 'five', 'six'], 'everything but the PDU at fault, in order');
    t.same(deliveredEdus, ['D1'], 'the to-device EDU that travelled with it too');
    // Three faults for the whole, for its PDUs apart from its EDU, and for each halving down to one PDU.
    t.ok(faults <= 3 * (2 + Math.ceil(Math.log2(6))), `found within a bounded number of faults (${faults})`);
    t.equal(fake.requests.length - faults, new Set(fake.requests.filter((r) => !bodies(r).includes('poison')).map((r) => r.path)).size, 'only transactions holding it failed, each part sent once');
    t.notOk(sender.isBackingOff(REMOTE));

    await world.say('seven');
    sender.eventsAdvanced();
    await sender.idle();
    t.same(delivered.at(-1), 'seven', 'later events flow at once');
  });

  await eachEngine(t, 'a destination behind a gateway that answers 502/503 keeps its transaction whole', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    let status = 502;
    fake.answerWith(async () => {
      throw new FederationRequestError(REMOTE, 'remote', `answered HTTP ${status}`, { remoteStatus: status });
    });
    const { sender, scheduler } = newSender(db, world, fake.client);
    await world.say('one');
    await world.say('two');
    await sender.start();
    await sender.idle();
    for (let attempt = 0; attempt < 8; attempt++) {
      status = attempt % 2 === 0 ? 503 : 502;
      world.clock.advance(4_000);
      scheduler.fireAll();
      await sender.idle();
    }
    t.equal(fake.requests.length, 9);
    t.equal(new Set(fake.requests.map((r) => r.path)).size, 1, 'the same transaction every time, never split');
    t.same(fake.requests.map((r) => bodies(r).length), Array(9).fill(2));
  });

  await eachEngine(t, 'a process that does not send queues and announces; the sending process sends; standing down stops it', async (t, db) => {
    const world = await sharedRoom(t, db);
    const toLeader = fakeClient();
    const toFollower = fakeClient();
    const notices: Array<{ destinations: readonly string[]; reachable?: boolean }> = [];
    const leader = newSender(db, world, toLeader.client).sender;
    const follower = newSender(db, world, toFollower.client, { announce: (notice) => void notices.push(notice) }).sender;
    await leader.start();
    t.ok(leader.sending);
    t.notOk(follower.sending, 'never started: not sending');

    const receipt = { [world.roomId]: { 'm.read': { [alice]: { event_ids: ['$x'], data: { ts: 1 } } } } };
    await follower.enqueueEdu([REMOTE], 'm.receipt', receipt);
    await follower.idle();
    t.same(toFollower.requests, [], 'the follower sends nothing');
    t.same(notices, [{ destinations: [REMOTE] }], 'it announces what it queued');
    await follower.destinationReachable(REMOTE);
    t.same(notices.at(-1), { destinations: [REMOTE], reachable: true }, 'and whom it heard from');
    await follower.typingChanged(world.roomId, alice, world.clock.now() + 30_000);
    t.equal(notices.length, 2, 'typing is left to the sending process (every process hears of it)');

    await leader.nudge(notices[0]!.destinations);
    await leader.idle();
    t.same(toLeader.requests.map((r) => r.body.edus.map((e) => e.edu_type)), [['m.receipt']], 'the sending process sends it');

    await leader.standDown();
    t.notOk(leader.sending);
    await world.say('while standing down');
    leader.eventsAdvanced();
    await leader.nudge([REMOTE]);
    await leader.idle();
    t.equal(toLeader.requests.length, 1, 'nothing goes out after standing down');
    await leader.start();
    await leader.idle();
    t.same(toLeader.requests.slice(1).flatMap(bodies), ['while standing down'], 'started again, it catches up');
  });

  await eachEngine(t, 'a server newly in a room hears the local members\' presence; a local user joining is announced to the room\'s servers', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    const asked: string[][] = [];
    const presenceOf = async (ids: readonly string[]) => {
      asked.push([...ids]);
      return ids.map((id) => ({ user_id: id, presence: 'online', currently_active: true }));
    };
    const { sender } = newSender(db, world, fake.client, { presenceOf });
    const presenceSent = () => fake.requests.flatMap((r) => r.body.edus.filter((e) => e.edu_type === 'm.presence').map((e) => [r.destination, e.content]));
    await sender.start();
    await sender.idle();
    t.same(asked, [[alice]], 'rob\'s join brought remote.test into the room: alice\'s presence is asked');
    t.same(presenceSent(), [[REMOTE, { push: [{ user_id: alice, presence: 'online', currently_active: true }] }]]);

    await remoteMembership(world, world.roomId, '@rita:remote.test', 'join', 1_700_000_200_000);
    sender.eventsAdvanced();
    await sender.idle();
    t.equal(asked.length, 1, 'another user of a server already in the room: nothing new to tell it');

    const carol = '@carol:hearth.test';
    await world.rooms.join(world.roomId, carol);
    sender.eventsAdvanced();
    await sender.idle();
    t.same(asked.at(-1), [carol], 'a local user joins');
    t.same(presenceSent().at(-1), [REMOTE, { push: [{ user_id: carol, presence: 'online', currently_active: true }] }], 'the room\'s servers hear of her presence');

    await world.rooms.send(world.roomId, { type: 'm.room.member', stateKey: carol, sender: carol, content: { membership: 'join', displayname: 'Carol' } });
    sender.eventsAdvanced();
    await sender.idle();
    t.equal(asked.length, 2, 'a profile change of a joined member is not a new meeting');
  });

  await eachEngine(t, 'a typing notice that waited out a back-off is dropped; other EDUs are not', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    fake.answerWith(unreachable);
    const { sender, scheduler } = newSender(db, world, fake.client);
    const store = createFederationQueueStore(db.sql);
    await sender.start();
    await sender.idle();
    await sender.enqueueEdu([REMOTE], 'm.typing', { room_id: world.roomId, user_id: alice, typing: true }, `typing:${world.roomId}:${alice}`);
    await sender.enqueueEdu([REMOTE], 'm.receipt', { [world.roomId]: { 'm.read': { [alice]: { event_ids: ['$x'], data: { ts: 1 } } } } });
    await sender.idle();
    t.equal(fake.requests.length, 1, 'tried once, unreachable');

    fake.answerWith(async () => ({ pdus: {} }));
    world.clock.advance(120_000);
    scheduler.fireAll();
    await sender.idle();
    t.same(fake.requests.slice(1).map((r) => r.body.edus.map((e) => e.edu_type)), [['m.receipt']], 'two minutes later the typing notice is stale; the receipt still goes');
    t.same(await store.destinationsWithWork(), [], 'nothing left queued');

    await sender.typingChanged(world.roomId, alice, world.clock.now() + 30_000);
    await sender.idle();
    t.same(fake.requests.at(-1)?.body.edus.map((e) => e.edu_type), ['m.typing'], 'a fresh one goes at once');
  });

  await eachEngine(t, 'EDUs: never to this server, the latest of a dedupe key only', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    const { sender } = newSender(db, world, fake.client);
    const typing = (on: boolean) => ({ room_id: world.roomId, user_id: alice, typing: on });
    await sender.enqueueEdu([LOCAL], 'm.typing', typing(true));
    await sender.enqueueEdu([REMOTE, LOCAL], 'm.typing', typing(true), `typing:${world.roomId}:${alice}`);
    await sender.enqueueEdu([REMOTE], 'm.typing', typing(false), `typing:${world.roomId}:${alice}`);
    await sender.start();
    await sender.idle();
    t.same(fake.requests.map((r) => [r.destination, r.body.edus]), [[REMOTE, [{ edu_type: 'm.typing', content: typing(false) }]]]);

    await sender.enqueueEdu(['third.test'], 'm.presence', { push: [] });
    await sender.idle();
    t.same(fake.requests.slice(1).map((r) => [r.destination, r.body.pdus, r.body.edus.map((e) => e.edu_type)]), [['third.test', [], ['m.presence']]], 'sent at once once started');
  });

  await eachEngine(t, 'a local user\'s typing goes to the room\'s other servers as m.typing; remote users\' does not', async (t, db) => {
    const world = await sharedRoom(t, db);
    const fake = fakeClient();
    const { sender } = newSender(db, world, fake.client);
    await sender.start();
    await sender.typingChanged(world.roomId, alice, world.clock.now() + 30_000);
    await sender.idle();
    await sender.typingChanged(world.roomId, rob, world.clock.now() + 30_000);
    await sender.typingChanged(world.roomId, alice, null);
    await sender.idle();
    t.same(fake.requests.map((r) => [r.destination, r.body.edus]), [
      [REMOTE, [{ edu_type: 'm.typing', content: { room_id: world.roomId, user_id: alice, typing: true } }]],
      [REMOTE, [{ edu_type: 'm.typing', content: { room_id: world.roomId, user_id: alice, typing: false } }]],
    ]);
  });
});
