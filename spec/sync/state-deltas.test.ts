import t from 'tap';
import { appOn, registerUser } from '../helpers/app.js';
import { eachEngine } from '../helpers/database.js';
import { roomPath, testClient, type TestClient } from '../helpers/client.js';

/**
 * The `state` of incremental syncs: after a gap (a limited timeline) it carries what changed in the gap,
 * and with lazy-loaded members it carries the timeline's senders once per device.
 */

async function world(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1]) {
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => testClient(app, await registerUser(app, name))));
  const roomId = await alice!.createRoom({ preset: 'public_chat', name: 'Hearth' });
  await bob!.post(`/join/${encodeURIComponent(roomId)}`);
  await carol!.post(`/join/${encodeURIComponent(roomId)}`);
  return { alice: alice!, bob: bob!, carol: carol!, dave: dave!, roomId };
}

const LAZY = { room: { timeline: { limit: 10 }, state: { lazy_load_members: true } } };
const LAZY_REDUNDANT = { room: { timeline: { limit: 10 }, state: { lazy_load_members: true, include_redundant_members: true } } };

let txn = 0;
async function say(client: TestClient, roomId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await client.send(roomId, `${client.user} ${i}`, `t${txn++}`);
}

/** The room's member events in a sync's state, as user → membership. */
// Any: sync replies are JSON; the test reads the fields it asserts on.
function membersIn(body: any, roomId: string): Record<string, string> {
  const events: any[] = body.rooms.join[roomId]?.state?.events ?? [];
  return Object.fromEntries(events.filter((e) => e.type === 'm.room.member').map((e) => [e.state_key, e.content.membership]));
}

eachEngine(t, 'a gapped incremental sync carries the state changes of the gap', async (t, db) => {
  const { alice, bob, carol, dave, roomId } = await world(t, db);
  await say(bob, roomId, 10);
  const first = await alice.sync({ filter: LAZY });
  t.same(membersIn(first.body, roomId), { [alice.user]: 'join', [bob.user]: 'join' }, 'an initial lazy sync: the user and the senders');

  await dave.post(`/join/${encodeURIComponent(roomId)}`);
  await alice.put(`${roomPath(roomId)}/state/m.room.topic/`, { topic: 'changed in the gap' });
  await say(carol, roomId, 12);
  const gapped = await alice.sync({ since: first.body.next_batch, timeout: 0, filter: LAZY });
  const room = gapped.body.rooms.join[roomId];
  t.equal(room.timeline.limited, true);
  t.same(membersIn(gapped.body, roomId), { [carol.user]: 'join', [dave.user]: 'join' }, "dave, who joined in the gap, and carol, who speaks");
  t.ok(room.state.events.some((e: any) => e.type === 'm.room.topic' && e.content.topic === 'changed in the gap'), 'the topic set in the gap');

  await dave.post(`${roomPath(roomId)}/leave`);
  await say(carol, roomId, 12);
  const again = await alice.sync({ since: gapped.body.next_batch, timeout: 0, filter: LAZY });
  t.same(membersIn(again.body, roomId), { [dave.user]: 'leave' }, "only dave's leave: carol's membership was sent already");
});

eachEngine(t, 'without lazy loading a gap still sends what changed, and nothing the timeline holds', async (t, db) => {
  const { alice, bob, carol, roomId } = await world(t, db);
  const first = await alice.sync();
  await carol.post(`${roomPath(roomId)}/leave`);
  await say(bob, roomId, 10);
  const gapped = await alice.sync({ since: first.body.next_batch, timeout: 0 });
  t.same(membersIn(gapped.body, roomId), { [carol.user]: 'leave' }, "carol's leave, from the gap");

  const second = gapped.body.next_batch;
  await say(bob, roomId, 11);
  const quiet = await alice.sync({ since: second, timeout: 0 });
  t.same(quiet.body.rooms.join[roomId].state.events, [], 'a gap without state changes: no state');
});

eachEngine(t, 'lazy-loaded members go once per device unless redundant members are asked for', async (t, db) => {
  const { alice, bob, carol, roomId } = await world(t, db);
  await say(bob, roomId, 5);
  await say(carol, roomId, 5);
  const first = await alice.sync({ filter: LAZY });
  t.same(membersIn(first.body, roomId), { [alice.user]: 'join', [bob.user]: 'join', [carol.user]: 'join' });

  await say(bob, roomId, 1);
  await say(carol, roomId, 1);
  const next = await alice.sync({ since: first.body.next_batch, timeout: 0, filter: LAZY });
  t.same(membersIn(next.body, roomId), {}, 'bob and carol were sent already');

  const redundant = await alice.sync({ since: first.body.next_batch, timeout: 0, filter: LAZY_REDUNDANT });
  t.same(membersIn(redundant.body, roomId), { [bob.user]: 'join', [carol.user]: 'join' }, 'include_redundant_members sends them again, not the user');

  const fresh = await alice.sync({ filter: LAZY });
  t.same(Object.keys(membersIn(fresh.body, roomId)).sort(), [alice.user, bob.user, carol.user].sort(), 'an initial sync starts over');
});

eachEngine(t, 'an incremental lazy sync sends the members of new senders only', async (t, db) => {
  const { alice, bob, carol, roomId } = await world(t, db);
  await say(bob, roomId, 10);
  const first = await alice.sync({ filter: LAZY });
  t.same(membersIn(first.body, roomId), { [alice.user]: 'join', [bob.user]: 'join' });

  await say(carol, roomId, 1);
  const next = await alice.sync({ since: first.body.next_batch, timeout: 0, filter: LAZY });
  t.same(membersIn(next.body, roomId), { [carol.user]: 'join' }, "carol's membership, not the user's again");
  const idle = await alice.sync({ since: next.body.next_batch, timeout: 0, filter: LAZY });
  t.same(idle.body.rooms.join, {}, 'then nothing');

  // Bob speaks after a gap: his membership is not sent again; carol, who spoke only in the gap, is not sent.
  await say(carol, roomId, 3);
  await say(bob, roomId, 10);
  const gapped = await alice.sync({ since: idle.body.next_batch, timeout: 0, filter: LAZY });
  t.equal(gapped.body.rooms.join[roomId].timeline.limited, true);
  t.same(membersIn(gapped.body, roomId), {}, 'no member changed and every sender is known');
});

eachEngine(t, 'a sync first tried without a transaction and run again in one still sends each lazy member once', async (t, db) => {
  const { alice, bob, roomId } = await world(t, db);
  const other = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(other)}`);
  // Rooms go in room id order: bob speaks in the first, alice in the second. Her own message needs its
  // transaction id read from the database, which abandons the attempt after the first room was done.
  const [first, second] = [roomId, other].sort();
  await say(alice, first!, 1);
  await say(alice, second!, 1);
  const short = { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } };
  const start = await alice.sync({ filter: short });
  t.notOk(membersIn(start.body, first!)[bob.user], 'bob has not been sent yet');

  await say(bob, first!, 1);
  await say(alice, second!, 1);
  const next = await alice.sync({ since: start.body.next_batch, timeout: 0, filter: short });
  t.same(membersIn(next.body, first!), { [bob.user]: 'join' }, "bob's membership comes with his message");
  t.ok(next.body.rooms.join[second!].timeline.events[0].unsigned.transaction_id, 'and alice gets her transaction id');

  await say(bob, first!, 1);
  const after = await alice.sync({ since: next.body.next_batch, timeout: 0, filter: short });
  t.same(membersIn(after.body, first!), {}, 'once');
});
