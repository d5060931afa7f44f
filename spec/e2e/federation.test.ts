import t from 'tap';
import { registerUser } from '../helpers/app.js';
import { eventually, memberOf, roomPath, testClient } from '../helpers/client.js';
import { startFederationPair } from '../helpers/federation-pair.js';

/**
 * Two real Hearths federating over loopback HTTPS: users of B join, are invited to, reject and leave rooms
 * that live on A, and see it all in /sync as a user of A's would.
 */

t.test('two federating servers', async (t) => {
  const { a, b } = await startFederationPair(t);
  const alice = testClient(a.app, await registerUser(a.app, 'alice'));
  const bob = testClient(b.app, await registerUser(b.app, 'bob'));
  const carol = testClient(b.app, await registerUser(b.app, 'carol'));
  const dave = testClient(b.app, await registerUser(b.app, 'dave'));

  const publicRoom = await alice.createRoom({ preset: 'public_chat', name: 'Lobby', room_alias_name: 'lobby' });
  const alias = `#lobby:${a.serverName}`;

  await t.test('B resolves A\'s alias through A', async (t) => {
    const res = await bob.get(`/directory/room/${encodeURIComponent(alias)}`);
    t.equal(res.status, 200, JSON.stringify(res.body));
    t.equal(res.body.room_id, publicRoom);
    t.ok(res.body.servers.includes(a.serverName));
    t.equal((await bob.get(`/directory/room/${encodeURIComponent(`#nope:${a.serverName}`)}`)).body.errcode, 'M_NOT_FOUND');
  });

  await t.test('a user of B joins a public room of A by alias and sees it in /sync', async (t) => {
    const res = await bob.post(`/join/${encodeURIComponent(alias)}`, {});
    t.equal(res.status, 200, JSON.stringify(res.body));
    t.equal(res.body.room_id, publicRoom);
    const sync = await bob.sync();
    const room = sync.body.rooms.join[publicRoom];
    t.ok(room, 'the room is in rooms.join');
    const events = [...(room?.state?.events ?? []), ...(room?.timeline?.events ?? [])];
    t.ok(events.some((e: any) => e.type === 'm.room.name' && e.content.name === 'Lobby'), 'with its name');
    t.ok(events.some((e: any) => e.type === 'm.room.member' && e.state_key === bob.user && e.content.membership === 'join'), 'and the join');
    t.ok(events.some((e: any) => e.type === 'm.room.member' && e.state_key === alice.user), 'and alice');
    t.equal(await memberOf(alice, publicRoom, bob.user), 'join', 'A has bob joined');
  });

  await t.test('a message sent on A after the join reaches B', async (t) => {
    const sent = await alice.send(publicRoom, 'hello from A', 'txn1');
    t.equal(sent.status, 200);
    const seen = await eventually(async () => {
      const res = await bob.get(`${roomPath(publicRoom)}/event/${encodeURIComponent(sent.body.event_id)}`);
      return res.status === 200 ? res.body : undefined;
    });
    t.match(seen, { sender: alice.user, content: { body: 'hello from A' } });
  });

  await t.test('a user of B joins by room id with via', async (t) => {
    const other = await alice.createRoom({ preset: 'public_chat', name: 'Side' });
    const refused = await carol.post(`/join/${encodeURIComponent('!unknown:' + a.serverName)}`, {});
    t.equal(refused.body.errcode, 'M_NOT_FOUND', 'a room no server knows');
    const res = await carol.post(`/join/${encodeURIComponent(other)}?via=${encodeURIComponent(a.serverName)}`, {});
    t.equal(res.status, 200, JSON.stringify(res.body));
    t.equal(await memberOf(carol, other, carol.user), 'join');
    t.equal(await memberOf(alice, other, carol.user), 'join');
  });

  await t.test('a private room refuses with A\'s message', async (t) => {
    const closed = await alice.createRoom({ preset: 'private_chat' });
    const res = await carol.post(`/join/${encodeURIComponent(closed)}?server_name=${encodeURIComponent(a.serverName)}`, {});
    t.equal(res.status, 403, JSON.stringify(res.body));
    t.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  await t.test('an invite from A shows in B\'s /sync, and the invitee joins', async (t) => {
    // Erin's presence is set while she shares no room with anyone on B: B hears of it only when dave's
    // join brings B into her room.
    const erin = testClient(a.app, await registerUser(a.app, 'erin'));
    t.equal((await erin.put(`/presence/${encodeURIComponent(erin.user)}/status`, { presence: 'online', status_msg: 'on call' })).status, 200);
    const room = await alice.createRoom({ preset: 'private_chat', name: 'Invited', invite: [erin.user] });
    t.equal((await erin.post(`${roomPath(room)}/join`, {})).status, 200);
    const invited = await alice.post(`${roomPath(room)}/invite`, { user_id: dave.user });
    t.equal(invited.status, 200, JSON.stringify(invited.body));
    const invite = await eventually(async () => (await dave.sync()).body.rooms.invite[room]);
    t.ok(invite, 'the room is in rooms.invite');
    const inviteEvents: any[] = invite?.invite_state?.events ?? [];
    t.ok(inviteEvents.some((e) => e.type === 'm.room.member' && e.state_key === dave.user && e.content.membership === 'invite'));
    const joined = await dave.post(`${roomPath(room)}/join`, {});
    t.equal(joined.status, 200, JSON.stringify(joined.body));
    t.ok((await dave.sync()).body.rooms.join[room], 'the room moved to rooms.join');
    t.equal(await memberOf(alice, room, dave.user), 'join');
    const seen = await eventually(async () => {
      const res = await dave.get(`/presence/${encodeURIComponent(erin.user)}/status`);
      return res.body.status_msg === 'on call' ? res.body : undefined;
    }, 5_000);
    t.match(seen, { presence: 'online', status_msg: 'on call' }, 'B was sent erin\'s presence when it came into the room');
  });

  await t.test('an invite from A is rejected', async (t) => {
    const room = await alice.createRoom({ preset: 'private_chat', name: 'Unwanted' });
    t.equal((await alice.post(`${roomPath(room)}/invite`, { user_id: carol.user })).status, 200);
    const before = await carol.sync();
    t.ok(before.body.rooms.invite[room]);
    const res = await carol.post(`${roomPath(room)}/leave`, {});
    t.equal(res.status, 200, JSON.stringify(res.body));
    const after = await carol.sync({ since: before.body.next_batch });
    t.ok(after.body.rooms.leave[room], 'the room moved to rooms.leave');
    t.equal(await memberOf(alice, room, carol.user), 'leave', 'A took the rejection');
  });

  await t.test('a user of B who joins late pages back through the history held by A (backfill)', async (t) => {
    const room = await alice.createRoom({ preset: 'public_chat', name: 'Archive' });
    for (let i = 1; i <= 30; i++) t.equal((await alice.send(room, `old ${i}`, `archive-${i}`)).status, 200);
    t.equal((await dave.post(`/join/${encodeURIComponent(room)}?server_name=${encodeURIComponent(a.serverName)}`, {})).status, 200);
    const synced = await dave.sync();
    t.notOk(
      (synced.body.rooms.join[room]?.timeline?.events ?? []).some((e: any) => e.content?.body === 'old 1'),
      'sync shows the join, not the whole history',
    );

    const seen: any[] = [];
    let from: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await dave.get(`${roomPath(room)}/messages?dir=b&limit=10${from ? `&from=${encodeURIComponent(from)}` : ''}`);
      t.equal(res.status, 200, JSON.stringify(res.body));
      seen.push(...res.body.chunk);
      from = res.body.end;
      if (from === undefined) break;
    }
    t.equal(from, undefined, 'paging back ends');
    t.match(seen[0], { type: 'm.room.member', state_key: dave.user }, 'newest first: the join');
    const bodies = seen.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
    t.same(bodies, Array.from({ length: 30 }, (_, i) => `old ${30 - i}`), 'every message before the join, newest first, once each');
    t.equal(seen.at(-1)?.type, 'm.room.create', 'down to the creation of the room');
    t.ok(seen.some((e) => e.type === 'm.room.name' && e.content.name === 'Archive'), 'state events before the join are on the timeline too');
    t.equal(new Set(seen.map((e) => e.event_id)).size, seen.length, 'no event twice');

    const forwards = await dave.get(`${roomPath(room)}/messages?dir=f&limit=100`);
    t.equal(forwards.body.chunk[0]?.type, 'm.room.create', 'paging forwards from the start begins at the creation');
    const later = await dave.sync({ since: synced.body.next_batch, timeout: 0 });
    t.notOk(later.body.rooms?.join?.[room]?.timeline?.events?.length, 'backfilled history is not news to sync');
  });

  await t.test('A bans a user of B: B sees the ban, and the user cannot join again until unbanned', async (t) => {
    const room = await alice.createRoom({ preset: 'public_chat', name: 'Strict' });
    t.equal((await carol.post(`/join/${encodeURIComponent(room)}?via=${encodeURIComponent(a.serverName)}`, {})).status, 200);
    const banned = await alice.post(`${roomPath(room)}/ban`, { user_id: carol.user, reason: 'spam' });
    t.equal(banned.status, 200, JSON.stringify(banned.body));
    t.equal(await memberOf(alice, room, carol.user), 'ban', 'A has the ban');
    // Once B holds the ban, the banned user reads the room's state there no more (as on Synapse).
    const closed = async () => ((await carol.get(`${roomPath(room)}/state/m.room.member/${encodeURIComponent(carol.user)}`)).status === 403 ? 'closed' : undefined);
    t.equal(await eventually(closed), 'closed', 'B hears of it');
    const again = await carol.post(`/join/${encodeURIComponent(room)}?via=${encodeURIComponent(a.serverName)}`, {});
    t.equal(again.status, 403, JSON.stringify(again.body));
    t.equal((await alice.post(`${roomPath(room)}/unban`, { user_id: carol.user })).status, 200);
    const rejoined = await carol.post(`/join/${encodeURIComponent(room)}?via=${encodeURIComponent(a.serverName)}`, {});
    t.equal(rejoined.status, 200, JSON.stringify(rejoined.body));
  });

  await t.test('a user of B leaves a room of A', async (t) => {
    const res = await bob.post(`${roomPath(publicRoom)}/leave`, {});
    t.equal(res.status, 200, JSON.stringify(res.body));
    t.equal(await eventually(async () => ((await memberOf(alice, publicRoom, bob.user)) === 'leave' ? 'leave' : undefined)), 'leave');
  });
});
