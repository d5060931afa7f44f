import t from 'tap';
import { appOn, registerUser } from '../helpers/app.js';
import { eachEngine } from '../helpers/database.js';
import { roomPath, testClient } from '../helpers/client.js';

async function world(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1]) {
  // A clock that ticks on every read: v12 room ids hash the create event (see rooms.test.ts).
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const alice = testClient(app, await registerUser(app, 'alice'));
  const bob = testClient(app, await registerUser(app, 'bob'));
  return { app, alice, bob };
}

// Any: sync replies are JSON; each test reads the fields it asserts on.
const bodies = (events: any[]) => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
const types = (events: any[]) => events.map((e) => e.type);

eachEngine(t, 'initial sync', async (t, db) => {
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom({ name: 'Hearth' });
  await alice.send(roomId, 'hello', 'txn1');

  const { status, body } = await alice.sync();
  t.equal(status, 200);
  t.match(body.next_batch, /^s\d/);
  const joined = body.rooms.join[roomId];
  t.ok(joined, 'the room the user created is in join');
  t.same(bodies(joined.timeline.events), ['hello'], 'the timeline ends with the message');
  t.equal(joined.timeline.events.at(-1).unsigned.transaction_id, 'txn1', 'the sending device gets its transaction id back');
  const timelineAndState = [...joined.state.events, ...joined.timeline.events];
  for (const type of ['m.room.create', 'm.room.power_levels', 'm.room.name', 'm.room.member']) {
    t.ok(types(timelineAndState).includes(type), `state or timeline holds ${type}`);
  }
  t.ok(joined.timeline.prev_batch, 'prev_batch is given');
});

eachEngine(t, 'incremental sync carries only what is new, and long-polls', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  const quiet = await alice.createRoom({});
  const first = (await alice.sync()).body.next_batch;

  const empty = await alice.sync({ since: first, timeout: 0 });
  t.same(empty.body.rooms.join, {}, 'nothing new, nothing sent');

  const waiting = alice.sync({ since: first, timeout: 30_000 });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const woken = await waiting;
  t.equal(woken.status, 200);
  const events = woken.body.rooms.join[roomId].timeline.events;
  t.same(types(events), ['m.room.member'], 'the long-poll answers with the join');
  t.equal(events[0].state_key, bob.user);
  t.notOk(woken.body.rooms.join[quiet], 'a room with nothing new is left out');

  await bob.send(roomId, 'hi alice', 'b1');
  const next = await alice.sync({ since: woken.body.next_batch, timeout: 0 });
  t.same(bodies(next.body.rooms.join[roomId].timeline.events), ['hi alice']);
  t.notOk(next.body.rooms.join[roomId].timeline.events[0].unsigned.transaction_id, 'others do not see the transaction id');
});

eachEngine(t, 'a client coming back with its token gets news from every stream, however it arrived', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  let since = (await alice.sync()).body.next_batch;
  const quiet = await alice.sync({ since, timeout: 0 });
  t.equal(quiet.body.next_batch, since, 'nothing new: the same token comes back');
  t.same(quiet.body.rooms.join, {}, 'and nothing in it');

  // Each kind of news, each picked up by a sync that starts after it happened (no wait woken by it).
  const news: Array<[string, () => Promise<unknown>, (body: any) => boolean]> = [
    ['a message', () => bob.send(roomId, 'while you were away', 'r1'), (body) => bodies(body.rooms.join[roomId]?.timeline.events ?? []).length === 1],
    ['typing', () => bob.put(`${roomPath(roomId)}/typing/${encodeURIComponent(bob.user)}`, { typing: true, timeout: 30_000 }),
      (body) => (body.rooms.join[roomId]?.ephemeral.events ?? []).some((e: any) => e.type === 'm.typing')],
    ['account data', () => alice.put(`/user/${encodeURIComponent(alice.user)}/account_data/org.example.note`, { n: 1 }),
      (body) => body.account_data.events.some((e: any) => e.type === 'org.example.note')],
    ['an invite to another room', async () => bob.post(`${roomPath(await bob.createRoom({}))}/invite`, { user_id: alice.user }),
      (body) => Object.keys(body.rooms.invite).length === 1],
    ["a room-mate's presence", () => bob.put(`/presence/${encodeURIComponent(bob.user)}/status`, { presence: 'unavailable' }),
      (body) => body.presence.events.some((e: any) => e.sender === bob.user && e.content.presence === 'unavailable')],
  ];
  for (const [what, happen, seen] of news) {
    await happen();
    const next = await alice.sync({ since, timeout: 0 });
    t.ok(seen(next.body), `${what} reaches the next sync`);
    t.not(next.body.next_batch, since, `${what} moves the token`);
    since = next.body.next_batch;
  }
});

eachEngine(t, 'invites, joins and leaves move a room between sections', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const bobStart = (await bob.sync()).body.next_batch;
  const roomId = await alice.createRoom({ name: 'Plans', invite: [bob.user] });

  const invited = await bob.sync({ since: bobStart, timeout: 30_000 });
  const invite = invited.body.rooms.invite[roomId];
  t.ok(invite, 'the invite is in the invite section');
  const stripped = invite.invite_state.events;
  t.ok(stripped.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Plans'), 'the room name is in the stripped state');
  t.ok(stripped.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user && e.content.membership === 'invite'));
  t.notOk(invited.body.rooms.join[roomId]);

  await alice.send(roomId, 'before bob joined', 'a1');
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const joined = await bob.sync({ since: invited.body.next_batch, timeout: 0 });
  const room = joined.body.rooms.join[roomId];
  t.ok(room, 'after joining, the room is in join');
  t.notOk(joined.body.rooms.invite[roomId], 'and no longer an invite');
  const all = [...room.state.events, ...room.timeline.events];
  t.ok(all.some((e: any) => e.type === 'm.room.create'), 'a newly joined room comes with its full state');

  await bob.post(`${roomPath(roomId)}/leave`);
  const left = await bob.sync({ since: joined.body.next_batch, timeout: 0 });
  const leave = left.body.rooms.leave[roomId];
  t.ok(leave, 'after leaving, the room is in leave');
  t.equal(leave.timeline.events.at(-1).content.membership, 'leave', 'ending with the leave event');
  await alice.send(roomId, 'after bob left', 'a2');
  const after = await bob.sync({ since: left.body.next_batch, timeout: 0 });
  t.notOk(after.body.rooms.leave[roomId], 'a left room is sent once');
  t.notOk(after.body.rooms.join[roomId], 'and its later messages never');

  const initial = await bob.sync({ filter: { room: { include_leave: true } } });
  t.ok(initial.body.rooms.leave[roomId], 'include_leave puts left rooms in an initial sync');
  t.notOk((await bob.sync()).body.rooms.leave[roomId], 'which leaves them out by default');
});

eachEngine(t, 'a rejected invite shows only the leave event', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ invite: [bob.user] });
  const start = (await bob.sync()).body.next_batch;
  await alice.send(roomId, 'secret', 'a1');
  await bob.post(`${roomPath(roomId)}/leave`);
  const left = await bob.sync({ since: start, timeout: 0 });
  t.same(types(left.body.rooms.leave[roomId].timeline.events), ['m.room.member']);
});

eachEngine(t, 'timeline limits, limited and filters', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const start = (await alice.sync()).body.next_batch;
  for (let i = 0; i < 12; i++) await (i % 2 ? bob : alice).send(roomId, `m${i}`, `t${i}`);

  const limited = await alice.sync({ since: start, timeout: 0 });
  const timeline = limited.body.rooms.join[roomId].timeline;
  t.same(bodies(timeline.events), ['m2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11'], 'the newest ten');
  t.equal(timeline.limited, true);
  t.match(timeline.prev_batch, /^t\d+$/);

  const unlimited = await alice.sync({ since: start, timeout: 0, filter: { room: { timeline: { limit: 20 } } } });
  t.equal(unlimited.body.rooms.join[roomId].timeline.events.length, 12);
  t.equal(unlimited.body.rooms.join[roomId].timeline.limited, false);

  const onlyBob = await alice.sync({ since: start, timeout: 0, filter: { room: { timeline: { senders: [bob.user], limit: 3 } } } });
  t.same(bodies(onlyBob.body.rooms.join[roomId].timeline.events), ['m7', 'm9', 'm11'], 'senders filter, filled to the limit');

  const lazy = await alice.sync({ filter: { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } } });
  const room = lazy.body.rooms.join[roomId];
  const members = room.state.events.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort();
  t.same(members, [alice.user, bob.user].sort(), 'lazy loading sends the sender (bob) and the user');
  t.same(room.summary['m.joined_member_count'], 2, 'with a summary');

  const defined = await alice.post(`/user/${encodeURIComponent(alice.user)}/filter`, { room: { timeline: { limit: 1 } } });
  const stored = await alice.sync({ filter: defined.body.filter_id });
  t.same(bodies(stored.body.rooms.join[roomId].timeline.events), ['m11'], 'a stored filter by id');

  const otherRooms = await alice.sync({ filter: { room: { not_rooms: [roomId] } } });
  t.notOk(otherRooms.body.rooms.join[roomId], 'not_rooms leaves the room out');
});

eachEngine(t, 'account data reaches sync', async (t, db) => {
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom({});
  const start = (await alice.sync()).body.next_batch;
  const user = encodeURIComponent(alice.user);
  await alice.put(`/user/${user}/account_data/org.example.theme`, { dark: true });
  await alice.put(`/user/${user}/rooms/${encodeURIComponent(roomId)}/account_data/org.example.pinned`, { yes: 1 });
  const { body } = await alice.sync({ since: start, timeout: 0 });
  t.same(body.account_data.events, [{ type: 'org.example.theme', content: { dark: true } }]);
  t.same(body.rooms.join[roomId].account_data.events, [{ type: 'org.example.pinned', content: { yes: 1 } }]);
  t.same(body.rooms.join[roomId].timeline.events, [], 'a room with only account data has an empty timeline');
  const again = await alice.sync({ since: body.next_batch, timeout: 0 });
  t.same(again.body.account_data.events, [], 'sent once');
});

eachEngine(t, 'bad requests', async (t, db) => {
  const { alice } = await world(t, db);
  for (const since of ['nonsense', 's1_x', 's1_2_3_4_5_6_7_8_9', 't5']) {
    const res = await alice.sync({ since });
    t.equal(res.body.errcode, 'M_INVALID_PARAM', `since=${since}`);
  }
  t.equal((await alice.sync({ filter: '{not json' })).body.errcode, 'M_INVALID_PARAM', 'a broken inline filter');
  t.equal((await alice.sync({ filter: { room: { timeline: { limit: 'ten' } } } })).body.errcode, 'M_INVALID_PARAM', 'a filter of the wrong shape');
  t.equal((await alice.sync({ filter: '12345' })).body.errcode, 'M_NOT_FOUND', 'an unknown filter id');
  t.equal((await alice.sync({ timeout: -1 })).body.errcode, 'M_INVALID_PARAM', 'a negative timeout');
  t.equal((await alice.call('GET', '/sync', undefined)).status, 200);
});

eachEngine(t, 'use_state_after gives the state at the end of the timeline', async (t, db) => {
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom({ name: 'Old name' });
  const start = (await alice.sync()).body.next_batch;
  await alice.put(`${roomPath(roomId)}/state/m.room.name/`, { name: 'New name' });
  await alice.send(roomId, 'after the rename', 'a1');

  const before = await alice.sync({ since: start, timeout: 0, filter: { room: { timeline: { limit: 1 } } } });
  const plain = before.body.rooms.join[roomId];
  t.notOk(plain.state_after, 'no state_after unless asked');
  t.same(plain.state.events.map((e: any) => e.content.name), ['New name'], 'state: the rename, which the limited timeline missed');

  // Asked by MSC4222's unstable name, the answer is under its unstable name: matrix-js-sdk reads no other.
  for (const [param, key] of [['use_state_after', 'state_after'], ['org.matrix.msc4222.use_state_after', 'org.matrix.msc4222.state_after']] as const) {
    const res = await alice.sync({ since: start, timeout: 0, [param]: true, filter: { room: { timeline: { limit: 5 } } } });
    const room = res.body.rooms.join[roomId];
    t.notOk(room.state, `${param}: state is omitted`);
    t.same(Object.keys(room).filter((k) => k.endsWith('state_after')), [key], `${param}: the state is under ${key} only`);
    t.same(room[key].events.map((e: any) => e.content.name), ['New name'], `${param}: ${key} holds the rename even though the timeline has it too`);
  }
  const initial = await alice.sync({ use_state_after: true });
  const names = initial.body.rooms.join[roomId].state_after.events.filter((e: any) => e.type === 'm.room.name');
  t.same(names.map((e: any) => e.content.name), ['New name'], 'an initial sync gives the whole state after the timeline');
});

eachEngine(t, 'ephemeral events, to-device, presence and push rules', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const initial = await alice.sync();
  const pushRules = initial.body.account_data.events.find((e: any) => e.type === 'm.push_rules');
  t.ok(pushRules?.content.global.override.length > 0, 'an initial sync carries the push rules');
  const start = initial.body.next_batch;

  const waiting = alice.sync({ since: start, timeout: 30_000 });
  await bob.put(`${roomPath(roomId)}/typing/${encodeURIComponent(bob.user)}`, { typing: true, timeout: 10_000 });
  const typing = await waiting;
  t.same(typing.body.rooms.join[roomId].ephemeral.events, [{ type: 'm.typing', content: { user_ids: [bob.user] } }], 'typing wakes the long-poll');

  const { body: sent } = await bob.send(roomId, 'read me', 'b1');
  await bob.post(`${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(sent.event_id)}`, {});
  const receipt = await alice.sync({ since: typing.body.next_batch, timeout: 0 });
  const receiptEvent = receipt.body.rooms.join[roomId].ephemeral.events.find((e: any) => e.type === 'm.receipt');
  t.ok(receiptEvent?.content[sent.event_id]['m.read'][bob.user], "bob's read receipt reaches alice");

  await bob.put(`/sendToDevice/org.example.ping/tx1`, { messages: { [alice.user]: { [alice.device]: { n: 1 } } } });
  const toDevice = await alice.sync({ since: receipt.body.next_batch, timeout: 0 });
  t.same(toDevice.body.to_device.events, [{ type: 'org.example.ping', sender: bob.user, content: { n: 1 } }], 'a to-device message is delivered');
  const again = await alice.sync({ since: receipt.body.next_batch, timeout: 0 });
  t.same(again.body.to_device.events.length, 1, 'and again for a client that retries with the same token');
  const acknowledged = await alice.sync({ since: toDevice.body.next_batch, timeout: 0 });
  t.same(acknowledged.body.to_device.events, [], 'but not once the next token acknowledged it');

  await bob.put(`/presence/${encodeURIComponent(bob.user)}/status`, { presence: 'unavailable', status_msg: 'lunch' });
  const presence = await alice.sync({ since: acknowledged.body.next_batch, timeout: 0 });
  const bobPresence = presence.body.presence.events.find((e: any) => e.sender === bob.user);
  t.equal(bobPresence?.content.status_msg, 'lunch', "bob's presence reaches a room-mate");
});

eachEngine(t, 'history visibility and redactions apply to the timeline', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
  await alice.send(roomId, 'before bob', 'a1');
  const { body: secret } = await alice.send(roomId, 'oops', 'a2');
  await alice.put(`${roomPath(roomId)}/redact/${encodeURIComponent(secret.event_id)}/r1`, { reason: 'typo' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  await alice.send(roomId, 'after bob', 'a3');

  const bobView = await bob.sync();
  t.same(bodies(bobView.body.rooms.join[roomId].timeline.events), ['after bob'], 'bob does not see what was said before he joined');
  const aliceView = await alice.sync({ filter: { room: { timeline: { limit: 20 } } } });
  const redacted = aliceView.body.rooms.join[roomId].timeline.events.find((e: any) => e.event_id === secret.event_id);
  t.same(redacted.content, {}, 'the redacted message is served without its content');
  t.equal(redacted.unsigned.redacted_because.content.reason, 'typo', 'with the redaction that removed it');
});

eachEngine(t, 'served events carry their bundled aggregations', async (t, db) => {
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom({});
  const { body: original } = await alice.send(roomId, 'helo', 'a1');
  const { body: edit } = await alice.put(`${roomPath(roomId)}/send/m.room.message/a2`, {
    msgtype: 'm.text',
    body: '* hello',
    'm.new_content': { msgtype: 'm.text', body: 'hello' },
    'm.relates_to': { rel_type: 'm.replace', event_id: original.event_id },
  });
  const { body } = await alice.sync();
  const served = body.rooms.join[roomId].timeline.events.find((e: any) => e.event_id === original.event_id);
  t.equal(served.unsigned['m.relations']['m.replace'].event_id, edit.event_id, 'the original comes with its latest edit');
  t.equal(served.content.body, 'helo', 'and its own content');
});

eachEngine(t, 'unread notification counts follow push rules and read receipts', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const start = (await alice.sync()).body.next_batch;
  await bob.send(roomId, 'one', 'b1');
  await bob.send(roomId, 'two', 'b2');
  const { body: mention } = await bob.put(`${roomPath(roomId)}/send/m.room.message/b3`, {
    msgtype: 'm.text',
    body: 'alice, look',
    'm.mentions': { user_ids: [alice.user] },
  });
  const unread = await alice.sync({ since: start, timeout: 0 });
  t.same(unread.body.rooms.join[roomId].unread_notifications, { notification_count: 3, highlight_count: 1 }, 'three notify, the mention highlights');

  await alice.post(`${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(mention.event_id)}`, {});
  const read = await alice.sync({ since: unread.body.next_batch, timeout: 0 });
  t.same(read.body.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 }, 'reading clears them');

  // Counts carried from one sync to the next: each new event adds to them once.
  await bob.send(roomId, 'three', 'b4');
  const once = await alice.sync({ since: read.body.next_batch, timeout: 0 });
  t.same(once.body.rooms.join[roomId].unread_notifications, { notification_count: 1, highlight_count: 0 }, 'a new message counts');
  await bob.send(roomId, 'four', 'b5');
  const twice = await alice.sync({ since: once.body.next_batch, timeout: 0 });
  t.same(twice.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 0 }, 'and the next one adds to it');
  const again = await alice.sync({ since: once.body.next_batch, timeout: 0 });
  t.same(again.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 0 }, 'a repeated sync counts nothing twice');
  const fresh = await alice.sync({ timeout: 0 });
  t.same(fresh.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 0 }, 'an initial sync agrees');
});

eachEngine(t, 'threaded read receipts clear their own thread, and counts come apart per thread when asked', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const start = (await alice.sync()).body.next_batch;
  const send = async (txn: string, body: string, thread?: string) =>
    (await bob.put(`${roomPath(roomId)}/send/m.room.message/${txn}`, {
      msgtype: 'm.text',
      body,
      ...(thread === undefined ? {} : { 'm.relates_to': { rel_type: 'm.thread', event_id: thread } }),
    })).body.event_id as string;
  const root = await send('t0', 'a thread starts here');
  const inThread = await send('t1', 'first reply', root);
  await send('t2', 'second reply', root);
  const mainLatest = await send('t3', 'back in the room');
  const apart = { room: { timeline: { unread_thread_notifications: true } } };

  const together = await alice.sync({ since: start, timeout: 0 });
  t.same(together.body.rooms.join[roomId].unread_notifications, { notification_count: 4, highlight_count: 0 }, 'without the flag: one count for the room');
  t.notOk(together.body.rooms.join[roomId].unread_thread_notifications);
  const split = await alice.sync({ since: start, timeout: 0, filter: apart });
  t.same(split.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 0 }, 'the main timeline: the root and the last message');
  t.same(split.body.rooms.join[roomId].unread_thread_notifications, { [root]: { notification_count: 2, highlight_count: 0 } }, 'the thread\'s replies apart');

  // Element with threads on: a `main` receipt reads the main timeline only.
  await alice.post(`${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(mainLatest)}`, { thread_id: 'main' });
  const mainRead = await alice.sync({ since: split.body.next_batch, timeout: 0, filter: apart });
  t.same(mainRead.body.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
  t.same(mainRead.body.rooms.join[roomId].unread_thread_notifications, { [root]: { notification_count: 2, highlight_count: 0 } }, 'the thread stays unread');
  const mainReadTogether = await alice.sync({ since: split.body.next_batch, timeout: 0 });
  t.same(mainReadTogether.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 0 }, 'and counts in the room\'s total');

  await alice.post(`${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(inThread)}`, { thread_id: root });
  const partly = await alice.sync({ since: mainRead.body.next_batch, timeout: 0, filter: apart });
  t.same(partly.body.rooms.join[roomId].unread_thread_notifications, { [root]: { notification_count: 1, highlight_count: 0 } }, 'a thread receipt reads its thread up to it');
  await send('t4', 'third reply', root);
  const more = await alice.sync({ since: partly.body.next_batch, timeout: 0, filter: apart });
  t.same(more.body.rooms.join[roomId].unread_thread_notifications, { [root]: { notification_count: 2, highlight_count: 0 } }, 'a new reply adds to its thread');
  t.same(more.body.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 }, 'not to the main timeline');

  const last = await send('t5', 'and one more in the room');
  await alice.post(`${roomPath(roomId)}/receipt/m.read/${encodeURIComponent(last)}`, {});
  const all = await alice.sync({ since: more.body.next_batch, timeout: 0, filter: apart });
  t.same(all.body.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 }, 'an unthreaded receipt reads everything before it');
  t.notOk(all.body.rooms.join[roomId].unread_thread_notifications, 'threads with nothing unread are left out');
});

eachEngine(t, 'unread counts judge each event by the room as it is: its joined members and the user\'s display name', async (t, db) => {
  const { app, alice, bob } = await world(t, db);
  const carol = testClient(app, await registerUser(app, 'carol'));
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  await alice.put(`/profile/${encodeURIComponent(alice.user)}/displayname`, { displayname: 'Alicia' });
  // Highlights in a room of exactly two members, and where the user's display name is said.
  const put = (id: string, condition: object) =>
    alice.put(`/pushrules/global/override/${id}`, { conditions: [condition], actions: ['notify', { set_tweak: 'highlight' }] });
  t.equal((await put('two', { kind: 'room_member_count', is: '==2' })).status, 200);
  t.equal((await put('named', { kind: 'contains_display_name' })).status, 200);

  const start = (await alice.sync()).body.next_batch;
  await bob.send(roomId, 'just us two', 'b1');
  const two = await alice.sync({ since: start, timeout: 0 });
  t.same(two.body.rooms.join[roomId].unread_notifications, { notification_count: 1, highlight_count: 1 }, 'two members: the rule holds');

  await carol.post(`/join/${encodeURIComponent(roomId)}`);
  await bob.send(roomId, 'three of us now', 'b2');
  const three = await alice.sync({ since: two.body.next_batch, timeout: 0 });
  t.same(three.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 1 }, 'three members: it no longer does');

  await bob.send(roomId, 'Alicia, are you there?', 'b3');
  const named = await alice.sync({ since: three.body.next_batch, timeout: 0 });
  t.same(named.body.rooms.join[roomId].unread_notifications, { notification_count: 3, highlight_count: 2 }, 'the display name highlights');
});

eachEngine(t, 'push rules and ignored users changed between syncs hold from the next sync on', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  const start = (await alice.sync()).body.next_batch;
  await bob.send(roomId, 'one', 'b1');
  const first = await alice.sync({ since: start, timeout: 0 });
  t.same(first.body.rooms.join[roomId].unread_notifications, { notification_count: 1, highlight_count: 0 }, 'a message notifies');

  // Muted: a room rule with no actions, as clients set to mute a room.
  t.equal((await alice.put(`/pushrules/global/room/${encodeURIComponent(roomId)}`, { actions: [] })).status, 200);
  await bob.send(roomId, 'two', 'b2');
  const muted = await alice.sync({ since: first.body.next_batch, timeout: 0 });
  t.same(muted.body.rooms.join[roomId].unread_notifications, { notification_count: 1, highlight_count: 0 }, 'after muting, a message adds nothing');

  t.equal((await alice.delete(`/pushrules/global/room/${encodeURIComponent(roomId)}`)).status, 200);
  await bob.send(roomId, 'three', 'b3');
  const unmuted = await alice.sync({ since: muted.body.next_batch, timeout: 0 });
  t.same(unmuted.body.rooms.join[roomId].unread_notifications, { notification_count: 2, highlight_count: 0 }, 'unmuted, it counts again');

  const ignore = (users: object) => alice.put(`/user/${encodeURIComponent(alice.user)}/account_data/m.ignored_user_list`, { ignored_users: users });
  await ignore({ [bob.user]: {} });
  await bob.send(roomId, 'four', 'b4');
  const ignored = await alice.sync({ since: unmuted.body.next_batch, timeout: 0 });
  t.same(ignored.body.rooms.join[roomId]?.timeline?.events ?? [], [], 'once he is ignored, his message is left out');

  await ignore({});
  await bob.send(roomId, 'five', 'b5');
  const heard = await alice.sync({ since: ignored.body.next_batch, timeout: 0 });
  t.same(heard.body.rooms.join[roomId].timeline.events.map((e: any) => e.content.body), ['five'], 'no longer ignored, he is heard');
});

eachEngine(t, 'a stored filter id is the user\'s own, sync after sync', async (t, db) => {
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(roomId)}`);
  for (const body of ['one', 'two', 'three', 'four']) await alice.send(roomId, body, `t-${body}`);
  const upload = async (client: typeof alice, limit: number) =>
    (await client.post(`/user/${encodeURIComponent(client.user)}/filter`, { room: { timeline: { limit } } })).body.filter_id as string;
  const [aliceFilter, bobFilter] = [await upload(alice, 1), await upload(bob, 3)];
  t.equal(aliceFilter, bobFilter, 'both users\' first filters have the same id');
  for (let round = 0; round < 2; round++) {
    const mine = await alice.sync({ filter: aliceFilter });
    const theirs = await bob.sync({ filter: bobFilter });
    t.same(bodies(mine.body.rooms.join[roomId].timeline.events), ['four'], `round ${round}: alice's filter gives one event`);
    t.same(bodies(theirs.body.rooms.join[roomId].timeline.events), ['two', 'three', 'four'], `round ${round}: bob's gives three`);
  }
});
