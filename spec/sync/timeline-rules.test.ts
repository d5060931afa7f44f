import t from 'tap';
import { appOn, registerUser } from '../helpers/app.js';
import { eachEngine } from '../helpers/database.js';
import { roomPath, testClient } from '../helpers/client.js';

/**
 * What /sync's timelines hold: filtered pages, newly joined rooms, rooms joined and left between syncs,
 * current state whatever the history visibility, the federation format, ignored users, and the presence
 * of users newly met.
 */

async function world(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1]) {
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => testClient(app, await registerUser(app, name))));
  return { alice: alice!, bob: bob!, carol: carol! };
}

// Any: sync replies are JSON; each test reads the fields it asserts on.
const bodies = (events: any[]) => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
const join = (roomId: string) => `/join/${encodeURIComponent(roomId)}`;

eachEngine(t, 'a filtered timeline reads past what its filter drops to reach its limit', async (t, db) => {
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom({});
  await alice.send(roomId, 'my message', 'a0');
  for (let i = 0; i < 12; i++) await alice.put(`${roomPath(roomId)}/send/org.example.filler/f${i}`, { n: i });
  const { body } = await alice.sync({ filter: { room: { timeline: { limit: 1, types: ['m.room.message'] }, state: { types: [] } } } });
  const timeline = body.rooms.join[roomId].timeline;
  t.same(bodies(timeline.events), ['my message'], 'the one message, twelve fillers further back');
  t.equal(timeline.limited, false, 'nothing older passes the filter');
});

eachEngine(t, 'a room joined since the token comes whole and limited', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  for (let i = 0; i < 4; i++) await alice.send(roomId, `before ${i}`, `a${i}`);
  const start = (await bob.sync()).body.next_batch;
  for (let i = 0; i < 4; i++) await alice.send(roomId, `later ${i}`, `b${i}`);
  await bob.post(join(roomId));
  const filter = { room: { timeline: { types: ['m.room.message'], limit: 10 } } };
  const { body } = await bob.sync({ since: start, timeout: 0, filter });
  const room = body.rooms.join[roomId];
  t.equal(bodies(room.timeline.events).length, 8, "the room's messages, from before the token too");
  t.equal(room.timeline.limited, true, 'limited: the client lacks the history before them');
  t.ok(room.state.events.some((e: any) => e.type === 'm.room.create'), 'with the full state');
});

eachEngine(t, 'a room joined and left between two syncs is sent with its state', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({});
  await alice.put(`${roomPath(roomId)}/state/org.example.state/`, { my_key: 1 });
  await alice.post(`${roomPath(roomId)}/invite`, { user_id: bob.user });
  const filter = { room: { timeline: { types: [] }, state: { types: ['org.example.state'] }, include_leave: true } };
  const start = (await bob.sync({ filter })).body.next_batch;
  await bob.post(join(roomId));
  await bob.post(`${roomPath(roomId)}/leave`);
  const { body } = await bob.sync({ since: start, timeout: 0, filter });
  t.same(body.rooms.leave[roomId]?.state.events.map((e: any) => e.content), [{ my_key: 1 }], 'the room is in leave, with its state');
});

eachEngine(t, "current state reaches the timeline though the history hid it", async (t, db) => {
  const { alice, bob, carol } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(join(roomId));
  await alice.put(`${roomPath(roomId)}/state/m.room.history_visibility/`, { history_visibility: 'joined' });
  await alice.post(`${roomPath(roomId)}/invite`, { user_id: carol.user });
  const start = (await bob.sync()).body.next_batch;
  await bob.post(`${roomPath(roomId)}/leave`);
  await carol.post(join(roomId));
  await bob.post(join(roomId));
  const { body } = await bob.sync({ since: start, timeout: 0 });
  const timeline = body.rooms.join[roomId].timeline.events;
  t.ok(
    timeline.some((e: any) => e.type === 'm.room.member' && e.state_key === carol.user && e.content.membership === 'join'),
    "carol's join, made while bob was away, is in bob's timeline",
  );
});

eachEngine(t, 'the federation event format', async (t, db) => {
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom({});
  const { body: sent } = await alice.send(roomId, 'as a pdu', 'a1');
  const { body } = await alice.sync({ filter: { event_format: 'federation', room: { timeline: { limit: 1 } } } });
  const [event] = body.rooms.join[roomId].timeline.events;
  t.equal(event.event_id, sent.event_id);
  t.equal(event.content.body, 'as a pdu');
  for (const key of ['prev_events', 'auth_events', 'depth', 'hashes', 'signatures', 'origin_server_ts', 'room_id', 'sender']) t.ok(key in event, `has ${key}`);
});

eachEngine(t, "an ignored user's messages and invites are left out", async (t, db) => {
  const { alice, bob, carol } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(join(roomId));
  await carol.post(join(roomId));
  await alice.send(roomId, 'from alice', 'a1');
  await bob.send(roomId, 'from bob', 'b1');
  await carol.send(roomId, 'from carol', 'c1');
  const bobsRoom = await bob.createRoom({ invite: [alice.user] });
  await alice.put(`/user/${encodeURIComponent(alice.user)}/account_data/m.ignored_user_list`, { ignored_users: { [bob.user]: {} } });

  const full = await alice.sync({ filter: { room: { timeline: { types: ['m.room.message'] } } } });
  t.same(bodies(full.body.rooms.join[roomId].timeline.events), ['from alice', 'from carol'], "bob's message is gone");
  t.ok(full.body.rooms.join[roomId].state.events.some((e: any) => e.state_key === bob.user), 'his membership (state) stays');
  t.same(full.body.rooms.invite, {}, "bob's invite is dropped");

  await bob.send(roomId, 'again from bob', 'b2');
  const quiet = await alice.sync({ since: full.body.next_batch, timeout: 0 });
  t.same(quiet.body.rooms.join, {}, 'a room with only his news is not sent');

  const laterRoom = await bob.createRoom({});
  await bob.post(`${roomPath(laterRoom)}/invite`, { user_id: alice.user });
  const incremental = await alice.sync({ since: quiet.body.next_batch, timeout: 0 });
  t.same(incremental.body.rooms.invite, {}, 'nor a new invite from him');
  t.ok(bobsRoom);
});

eachEngine(t, 'users newly sharing a room get each other’s presence', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await alice.sync();
  const aliceStart = (await alice.sync({ set_presence: 'offline' })).body.next_batch;
  const bobStart = (await bob.sync({ set_presence: 'offline' })).body.next_batch;
  await bob.post(join(roomId));

  const bobView = await bob.sync({ since: bobStart, timeout: 0, set_presence: 'offline' });
  t.same(bobView.body.presence.events.filter((e: any) => e.sender !== bob.user).map((e: any) => e.sender), [alice.user], "bob, newly joined, gets alice's");
  const bobNext = await bob.sync({ since: bobView.body.next_batch, timeout: 0, set_presence: 'offline' });
  t.same(bobNext.body.presence.events, [], 'once');

  const aliceView = await alice.sync({ since: aliceStart, timeout: 0, set_presence: 'offline' });
  const bobs = aliceView.body.presence.events.filter((e: any) => e.sender === bob.user);
  t.equal(bobs.length, 1, "alice gets bob's, though it never changed");
  t.equal(bobs[0]?.content.presence, 'offline');
});

eachEngine(t, 'setting state to what it holds sends nothing new', async (t, db) => {
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom({});
  const first = await alice.put(`${roomPath(roomId)}/state/m.room.topic/`, { topic: 'same' });
  const start = (await alice.sync()).body.next_batch;
  const again = await alice.put(`${roomPath(roomId)}/state/m.room.topic/`, { topic: 'same' });
  t.equal(again.body.event_id, first.body.event_id, 'the existing event is the answer');
  const { body } = await alice.sync({ since: start, timeout: 0 });
  t.same(body.rooms.join, {}, 'and no event reaches sync');
});
