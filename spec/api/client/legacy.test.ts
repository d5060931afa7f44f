import t from 'tap';
import { eachEngine, testDatabase } from '../../helpers/database.js';
import { ADVISORY_LOCK_NAMESPACE, PRESENCE_STREAM_LOCK_ID } from '../../../src/storage/index.js';
import { roomPath, threeUsers, type TestClient } from '../../helpers/client.js';

/** GET /events (from, timeout, room_id, limit) as a client calls it; the reply's chunk and end token. */
async function events(client: TestClient, query: Record<string, string | number> = {}) {
  const params = new URLSearchParams(Object.entries({ timeout: 0, ...query }).map(([k, v]): [string, string] => [k, String(v)]));
  return client.get(`/_matrix/client/r0/events?${params}`);
}

const bodies = (chunk: any[]) => chunk.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);

t.test('the v1 event stream: a token now, then what happens after it', async (t) => {
  await eachEngine(t, 'events', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(roomId)}/join`);

    const first = await events(bob);
    t.equal(first.status, 200);
    t.match(first.body, { start: String, end: String, chunk: [] }, 'without from the stream starts now: nothing old comes back');

    await alice.send(roomId, 'hello bob', 'm1');
    await alice.put(`${roomPath(roomId)}/typing/${encodeURIComponent(alice.user)}`, { typing: true, timeout: 30000 });
    await bob.put(`/user/${encodeURIComponent(bob.user)}/rooms/${encodeURIComponent(roomId)}/tags/u.work`, { order: 0.5 });
    await bob.put(`/user/${encodeURIComponent(bob.user)}/account_data/my.type`, { cats: true });
    const next = await events(bob, { from: first.body.end });
    t.same(bodies(next.body.chunk), ['hello bob'], 'the new message');
    t.match(next.body.chunk.find((e: any) => e.type === 'm.room.message'), { room_id: roomId, sender: alice.user, event_id: /^\$/ });
    t.match(next.body.chunk.find((e: any) => e.type === 'm.typing'), { room_id: roomId, content: { user_ids: [alice.user] } }, 'typing names its room');
    t.match(next.body.chunk.find((e: any) => e.type === 'm.tag'), { room_id: roomId, content: { tags: { 'u.work': { order: 0.5 } } } }, 'room account data names its room');
    t.match(next.body.chunk.find((e: any) => e.type === 'my.type'), { content: { cats: true } }, 'global account data');
    t.equal(next.body.start, first.body.end, 'start is the token asked from');

    const after = await events(bob, { from: next.body.end });
    t.same(after.body.chunk, [], 'nothing twice');

    const receipt = await bob.post(`${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(next.body.chunk[0].event_id)}`, {});
    t.equal(receipt.status, 200);
    const receipts = await events(alice, { from: after.body.end });
    t.match(receipts.body.chunk.find((e: any) => e.type === 'm.receipt'), {
      room_id: roomId,
      content: { [next.body.chunk[0].event_id]: { 'm.read': { [bob.user]: { ts: Number } } } },
    }, 'receipts of the rooms the user is in');
  });
});

t.test('a client on the event stream is online, as one on /sync is', async (t) => {
  await eachEngine(t, 'presence', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(roomId)}/join`);
    const before = await bob.get(`/presence/${encodeURIComponent(alice.user)}/status`);
    t.equal(before.body.presence, 'offline', 'never connected: offline');

    t.equal((await events(alice)).status, 200);
    const after = await bob.get(`/presence/${encodeURIComponent(alice.user)}/status`);
    t.equal(after.body.presence, 'online', 'after one poll of the event stream: online');
    const own = await alice.sync({ set_presence: 'offline' });
    t.match(own.body.presence.events.find((e: any) => e.sender === alice.user), { content: { presence: 'online' } }, 'and her initial sync tells her so');
  });
});

t.test('the event stream in pages: a limit stops the end token after the last event given', async (t) => {
  await eachEngine(t, 'paging', async (t, db) => {
    const { alice } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'private_chat' });
    let from = (await events(alice)).body.end as string;
    const sent = ['m0', 'm1', 'm2', 'm3', 'm4'];
    for (const [i, body] of sent.entries()) await alice.send(roomId, body, `t${i}`);
    const seen: string[] = [];
    for (let page = 0; page < 5; page++) {
      const res = await events(alice, { from, limit: 2 });
      t.ok(bodies(res.body.chunk).length <= 2, 'at most the limit');
      seen.push(...bodies(res.body.chunk));
      from = res.body.end;
    }
    t.same(seen, sent, 'every message once, in order');
  });
});

t.test('the event stream waits for news up to the timeout', async (t) => {
  await eachEngine(t, 'long-poll', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${roomPath(roomId)}/join`);
    const { end } = (await events(bob)).body;
    const waiting = events(bob, { from: end, timeout: 10000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await alice.send(roomId, 'wake up', 'w1');
    t.same(bodies((await waiting).body.chunk), ['wake up'], 'the message ends the wait');
  });
});

t.test('peeking at a room through the event stream', async (t) => {
  await eachEngine(t, 'room_id', async (t, db) => {
    const { alice, carol } = await threeUsers(t, db);
    const open = await alice.createRoom({ preset: 'public_chat' });
    await alice.put(`${roomPath(open)}/state/m.room.history_visibility/`, { history_visibility: 'world_readable' });
    const closed = await alice.createRoom({ preset: 'public_chat' });

    const start = await events(carol, { room_id: open });
    t.equal(start.status, 200, 'anyone may follow a world-readable room');
    await alice.send(open, 'for all to see', 'p1');
    const seen = await events(carol, { room_id: open, from: start.body.end });
    t.same(bodies(seen.body.chunk), ['for all to see']);
    const refused = await events(carol, { room_id: closed });
    t.same([refused.status, refused.body.errcode], [403, 'M_FORBIDDEN'], 'not a room whose history is for members');
  });
});

t.test('a token from the event stream, given to /sync, starts the streams /events does not carry now', async (t) => {
  await eachEngine(t, 'token', async (t, db) => {
    const { alice, carol } = await threeUsers(t, db);
    const open = await alice.createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }] });
    t.equal((await carol.post(`/peek/${encodeURIComponent(open)}`)).status, 200);
    const stream = await events(carol);
    const sync = await carol.sync({ since: stream.body.end });
    t.equal(sync.status, 200);
    t.equal(sync.body.rooms.peek, undefined, 'a room peeked into before the token is not sent from scratch');
  });
});

t.test('/initialSync: the rooms with their state and latest messages', async (t) => {
  await eachEngine(t, 'initialSync', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ visibility: 'public', preset: 'public_chat', topic: 'Tea' });
    await bob.post(`${roomPath(roomId)}/join`);
    await alice.send(roomId, 'one', 'i1');
    await alice.send(roomId, 'two', 'i2');
    const invited = await alice.createRoom({ preset: 'private_chat' });
    await alice.post(`${roomPath(invited)}/invite`, { user_id: bob.user });
    const last = (await alice.send(roomId, 'three', 'i3')).body.event_id;
    await bob.post(`${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(last)}`, {});

    const res = await bob.get('/initialSync?limit=2');
    t.equal(res.status, 200);
    t.match(res.body, { end: String, presence: Array, account_data: Array, receipts: Array });
    const own = res.body.presence.find((e: any) => e.content.user_id === bob.user);
    t.match(own, { type: 'm.presence', content: { presence: 'online', last_active_ago: Number } }, 'an initial sync marks the user online, as /sync does');
    const room = res.body.rooms.find((r: any) => r.room_id === roomId);
    t.match(room, { membership: 'join', visibility: 'public', messages: { start: String, end: String } });
    t.same(bodies(room.messages.chunk), ['two', 'three'], 'the latest messages, oldest first');
    t.equal(room.state.find((e: any) => e.type === 'm.room.topic')?.content.topic, 'Tea', 'the current state');
    t.match(res.body.rooms.find((r: any) => r.room_id === invited), { membership: 'invite', inviter: alice.user }, 'invites, with who sent them');
    t.match(res.body.receipts.find((e: any) => e.room_id === roomId), { type: 'm.receipt', content: { [last]: { 'm.read': { [bob.user]: {} } } } });

    const none = await bob.get('/initialSync?limit=0');
    t.same(none.body.rooms.find((r: any) => r.room_id === roomId).messages.chunk, [], 'limit=0 gives no messages');

    await bob.post(`${roomPath(roomId)}/leave`, {});
    await alice.send(roomId, 'after bob left', 'i4');
    t.notOk((await bob.get('/initialSync')).body.rooms.some((r: any) => r.room_id === roomId), 'a room left is gone by default');
    const archived = await bob.get('/initialSync?archived=true&limit=2');
    const left = archived.body.rooms.find((r: any) => r.room_id === roomId);
    t.equal(left.membership, 'leave', 'archived=true lists rooms the user left');
    t.same(left.messages.chunk.map((e: any) => e.content.body ?? e.content.membership), ['three', 'leave'], 'up to the leave, nothing after it');
  });
});

t.test('/rooms/{roomId}/initialSync: members, former members, and peeking', async (t) => {
  await eachEngine(t, 'room initialSync', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat', topic: 'Before' });
    await bob.post(`${roomPath(roomId)}/join`);
    await alice.send(roomId, 'hi', 'r1');

    const joined = await bob.get(`${roomPath(roomId)}/initialSync`);
    t.equal(joined.status, 200);
    t.match(joined.body, { room_id: roomId, membership: 'join', messages: { chunk: Array, start: String, end: String }, state: Array, presence: Array, receipts: Array });
    t.same(bodies(joined.body.messages.chunk), ['hi']);
    t.match(joined.body.state.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.user), { user_id: bob.user, content: { membership: 'join' } }, 'v1 events name their sender as user_id too');
    const presence = new Map(joined.body.presence.map((e: any) => [e.content.user_id, e]));
    t.match(presence.get(alice.user), { type: 'm.presence', content: { presence: String } }, 'every member has a presence, offline when never seen');

    await bob.post(`${roomPath(roomId)}/leave`, {});
    await alice.put(`${roomPath(roomId)}/state/m.room.topic/`, { topic: 'After' });
    const left = await bob.get(`${roomPath(roomId)}/initialSync?limit=2`);
    t.match(left.body, { membership: 'leave', presence: [], receipts: [] });
    t.equal(left.body.state.find((e: any) => e.type === 'm.room.topic').content.topic, 'Before', 'the state when bob left');
    t.equal(left.body.messages.chunk.at(-1).content.membership, 'leave', 'messages stop at the leave');

    const stranger = await carol.get(`${roomPath(roomId)}/initialSync`);
    t.same([stranger.status, stranger.body.errcode], [403, 'M_FORBIDDEN'], 'a stranger may not read a members-only history');

    await alice.put(`${roomPath(roomId)}/state/m.room.history_visibility/`, { history_visibility: 'world_readable' });
    await alice.send(roomId, 'public now', 'r2');
    const peek = await carol.get(`${roomPath(roomId)}/initialSync`);
    t.equal(peek.status, 200, 'anyone may read a world-readable room');
    t.same(peek.body.messages.chunk.map((e: any) => e.type), ['m.room.history_visibility', 'm.room.message'], 'only what history visibility shows a non-member');
    t.equal(peek.body.state.find((e: any) => e.type === 'm.room.topic').content.topic, 'After');
  });
});

t.test('without from, the stream starts when the request came: a message committed while the client is marked online is in it', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL (the embedded engine has one connection, which the held lock would take)' }, async (t) => {
  const db = await testDatabase(t, { engine: 'postgres' });
  const { alice, bob } = await threeUsers(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`${roomPath(roomId)}/join`);

  // Marking bob online waits for the presence stream's lock, held here, as another writer would hold it.
  let release = () => {};
  const released = new Promise<void>((done) => (release = done));
  let locked = () => {};
  const holding = new Promise<void>((done) => (locked = done));
  const holder = db.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${PRESENCE_STREAM_LOCK_ID})`;
    locked();
    await released;
  });
  await holding;
  const stream = events(bob, { timeout: 3000 });
  await new Promise((done) => setTimeout(done, 200));
  t.equal((await alice.send(roomId, 'sent while bob connects', 'm1')).status, 200);
  release();
  await holder;
  const first = await stream;
  t.same(bodies(first.body.chunk), ['sent while bob connects'], 'the message is news, not history');
});
