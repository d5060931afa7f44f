import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';

/** Peeking into world_readable rooms without joining them (MSC2753; src/rooms/peeks.ts). */

const enc = encodeURIComponent;
const WORLD_READABLE = { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } };

/** Ticks on every read, so rooms made back to back get different ids. */
function tickingClock() {
  let now = 1_700_000_000_000;
  return { now: () => now++ };
}

type Client = ReturnType<typeof testClient>;
interface TimelineEvent {
  readonly type: string;
  readonly content: { readonly body?: string };
}

/** The timeline bodies (or types, for events without a body) of a peeked room in a sync answer. */
function peeked(body: { rooms?: { peek?: Record<string, { timeline: { events: TimelineEvent[] } }> } }, roomId: string): string[] | undefined {
  return body.rooms?.peek?.[roomId]?.timeline.events.map((event) => event.content.body ?? event.type);
}

async function login(app: Parameters<typeof testClient>[0], user: string): Promise<Client> {
  const res = await testClient(app, null).post('/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'pw' });
  return testClient(app, res.body);
}

t.test('a device peeks into a world_readable room: its sync shows the room under rooms.peek, news and all', async (t) => {
  await eachEngine(t, 'peeking', async (t, db) => {
    const { app } = await appOn(t, db);
    const alice = testClient(app, await registerUser(app, 'alice'));
    const bob = testClient(app, await registerUser(app, 'bob'));
    const bobElsewhere = await login(app, 'bob');
    const roomId = await alice.createRoom({ preset: 'public_chat', initial_state: [WORLD_READABLE] });
    t.equal((await alice.send(roomId, 'before the peek', 't1')).status, 200);
    const before = (await bob.sync()).body.next_batch as string;
    const elsewhere = (await bobElsewhere.sync()).body.next_batch as string;

    const peek = await bob.post(`/peek/${enc(roomId)}`);
    t.equal(peek.status, 200);
    t.same(peek.body, { room_id: roomId });

    const first = (await bob.sync({ since: before })).body;
    const timeline = peeked(first, roomId);
    t.equal(timeline?.[0], 'm.room.create', 'a new peek shows the room from its start');
    t.equal(timeline?.at(-1), 'before the peek');
    t.same(first.rooms.peek[roomId].state.events, [], 'the whole room fits the timeline: no state before it');
    t.same(first.rooms.join, {}, 'bob joined nothing');

    const quiet = (await bob.sync({ since: first.next_batch })).body;
    t.equal(quiet.rooms.peek, undefined, 'a peeked room with no news is left out');

    // A long-poll waiting on the peeked room wakes for its news.
    const waiting = bob.sync({ since: first.next_batch, timeout: 10_000 });
    await new Promise((done) => setTimeout(done, 50));
    t.equal((await alice.send(roomId, 'after the peek', 't2')).status, 200);
    const news = (await waiting).body;
    t.same(peeked(news, roomId), ['after the peek'], 'only the news, incrementally');

    const other = (await bobElsewhere.sync({ since: elsewhere })).body;
    t.equal(other.rooms.peek, undefined, 'the peek is the device\'s own, not the user\'s');

    // Joining moves the room to rooms.join.
    t.equal((await bob.post(`/rooms/${enc(roomId)}/join`)).status, 200);
    const joined = (await bob.sync({ since: news.next_batch })).body;
    t.ok(joined.rooms.join[roomId], 'the joined room is under join');
    t.equal(joined.rooms.peek, undefined, 'and no longer under peek');

    // Leaving while the peek holds: the room is under leave up to the leave, and under peek after it.
    t.equal((await bob.post(`/rooms/${enc(roomId)}/leave`)).status, 200);
    t.equal((await alice.send(roomId, 'after the leave', 't3')).status, 200);
    const left = (await bob.sync({ since: joined.next_batch })).body;
    const leaveTimeline = left.rooms.leave[roomId].timeline.events as Array<{ type: string; state_key?: string; content: { membership?: string } }>;
    t.same(leaveTimeline.map((event) => event.content.membership), ['leave'], 'the leave section ends at the leave');
    t.same(peeked(left, roomId), ['after the leave'], 'the peek shows only what came after it, not the leave again');
  });
});

t.test('peeking by alias, unpeeking, and history that stops being world_readable', async (t) => {
  await eachEngine(t, 'peek lifecycle', async (t, db) => {
    const { app } = await appOn(t, db);
    const alice = testClient(app, await registerUser(app, 'alice'));
    const bob = testClient(app, await registerUser(app, 'bob'));
    const roomId = await alice.createRoom({ preset: 'public_chat', room_alias_name: 'lobby', initial_state: [WORLD_READABLE] });
    const start = (await bob.sync()).body.next_batch as string;

    const byAlias = await bob.post(`/peek/${enc('#lobby:hearth.test')}`);
    t.equal(byAlias.status, 200);
    t.same(byAlias.body, { room_id: roomId }, 'an alias peeks into the room it names');
    const first = (await bob.sync({ since: start })).body;
    t.ok(first.rooms.peek?.[roomId], 'the room shows');
    const filtered = (await bob.sync({ filter: { room: { not_rooms: [roomId] } } })).body;
    t.equal(filtered.rooms.peek, undefined, 'a filter that leaves the room out leaves out its peek too');

    // History no longer world_readable: the peek stays, but what follows is not shown.
    t.equal((await alice.put(`${roomPath(roomId)}/state/m.room.history_visibility`, { history_visibility: 'shared' })).status, 200);
    const changed = (await bob.sync({ since: first.next_batch })).body;
    t.same(peeked(changed, roomId), ['m.room.history_visibility'], 'the change itself is shown, as it was sent while world_readable');
    t.equal((await alice.send(roomId, 'members only', 't1')).status, 200);
    const hidden = (await bob.sync({ since: changed.next_batch })).body;
    t.equal(peeked(hidden, roomId), undefined, 'a message sent afterwards is not');

    const unpeek = await bob.post(`/rooms/${enc(roomId)}/unpeek`);
    t.equal(unpeek.status, 200);
    t.same(unpeek.body, {});
    const again = await bob.post(`/rooms/${enc(roomId)}/unpeek`);
    t.equal(again.status, 404);
    t.equal(again.body.errcode, 'M_NOT_FOUND', 'unpeeking a room not peeked into says so');
    const refused = await bob.post(`/peek/${enc(roomId)}`);
    t.equal(refused.status, 403, 'the room can no longer be peeked into');
  });
});

t.test('peeks that cannot be: history not world_readable, unknown rooms and aliases, bad ids', async (t) => {
  await eachEngine(t, 'peek refusals', async (t, db) => {
    const { app } = await appOn(t, db, { clock: tickingClock() });
    const alice = testClient(app, await registerUser(app, 'alice'));
    const bob = testClient(app, await registerUser(app, 'bob'));
    for (const visibility of ['shared', 'invited', 'joined']) {
      const roomId = await alice.createRoom({
        preset: 'public_chat',
        initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: visibility } }],
      });
      const res = await bob.post(`/peek/${enc(roomId)}`);
      t.equal(res.status, 403, visibility);
      t.equal(res.body.errcode, 'M_FORBIDDEN');
      t.match(res.body.error, /not world_readable/);
    }
    const abandoned = await alice.createRoom({ preset: 'public_chat', initial_state: [WORLD_READABLE] });
    t.equal((await alice.post(`${roomPath(abandoned)}/leave`)).status, 200);
    const left = await bob.post(`/peek/${enc(abandoned)}`);
    t.equal(left.status, 404, 'a room no user of this server is in any more');
    t.equal(left.body.errcode, 'M_NOT_FOUND', 'gets no new events here: it cannot be peeked into');
    const unknown = await bob.post(`/peek/${enc('!nowhere:hearth.test')}`);
    t.equal(unknown.status, 404);
    t.equal(unknown.body.errcode, 'M_NOT_FOUND', 'a room this server does not hold');
    const noAlias = await bob.post(`/peek/${enc('#nothing:hearth.test')}`);
    t.equal(noAlias.status, 404);
    t.equal(noAlias.body.errcode, 'M_NOT_FOUND', 'an alias that names no room');
    const bad = await bob.post(`/peek/${enc('lobby')}`);
    t.equal(bad.status, 400);
    t.equal(bad.body.errcode, 'M_INVALID_PARAM', 'neither a room id nor an alias');
    const badUnpeek = await bob.post('/rooms/lobby/unpeek');
    t.equal(badUnpeek.status, 400);
    t.equal(badUnpeek.body.errcode, 'M_INVALID_PARAM');
    const anonymous = await testClient(app, null).post(`/peek/${enc('!nowhere:hearth.test')}`);
    t.equal(anonymous.body.errcode, 'M_MISSING_TOKEN');
  });
});
