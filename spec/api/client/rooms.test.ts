import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine, testDatabase } from '../../helpers/database.js';
import { testClient } from '../../helpers/client.js';

const V3 = '/_matrix/client/v3';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const client = testClient;

const room = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}`;

async function world(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1]) {
  // The clock ticks on every read: v12 room ids hash the create event, so two rooms made by one user
  // in the same millisecond with the same options would be the same room (M_ROOM_IN_USE).
  let now = 1_700_000_000_000;
  const { app } = await appOn(t, db, { clock: { now: () => now++ } });
  const alice = client(app, await registerUser(app, 'alice'));
  const bob = client(app, await registerUser(app, 'bob'));
  const carol = client(app, await registerUser(app, 'carol'));
  return { app, alice, bob, carol };
}

t.test('alice creates a room, invites bob, bob joins, both talk, and the state reads back', async (t) => {
  await eachEngine(t, 'full flow', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const created = await alice.post('/createRoom', { name: 'Lobby', topic: 'Say hi', preset: 'private_chat' });
    t.equal(created.status, 200);
    const roomId = created.body.room_id as string;
    t.match(roomId, /^!/);

    t.same((await bob.post(`${room(roomId)}/join`)).body.errcode, 'M_FORBIDDEN', 'private room: no join without an invite');
    t.same((await alice.post(`${room(roomId)}/invite`, { user_id: bob.user, reason: 'welcome' })), { status: 200, body: {} });
    const joined = await bob.post(`/join/${encodeURIComponent(roomId)}`, { reason: 'hello' });
    t.same(joined, { status: 200, body: { room_id: roomId } }, 'POST /join/{roomIdOrAlias} answers the room id');

    const a = await alice.send(roomId, 'hi bob', 'a1');
    const b = await bob.send(roomId, 'hi alice', 'b1');
    t.equal(a.status, 200);
    t.equal(b.status, 200);
    t.match(a.body.event_id, /^\$/);
    t.not(a.body.event_id, b.body.event_id);

    t.same((await bob.get('/joined_rooms')).body, { joined_rooms: [roomId] });
    const members = await alice.get(`${room(roomId)}/joined_members`);
    t.same(Object.keys(members.body.joined).sort(), [alice.user, bob.user]);

    t.same((await bob.get(`${room(roomId)}/state/m.room.name/`)).body, { name: 'Lobby' }, 'content by default, trailing slash');
    t.same((await bob.get(`${room(roomId)}/state/m.room.name`)).body, { name: 'Lobby' }, 'empty state key without the slash');
    const asEvent = await bob.get(`${room(roomId)}/state/m.room.topic/?format=event`);
    t.match(asEvent.body, {
      type: 'm.room.topic',
      state_key: '',
      sender: alice.user,
      room_id: roomId,
      event_id: /^\$/,
      origin_server_ts: Number,
      content: { topic: 'Say hi' },
      unsigned: { age: Number },
    });
    t.notOk('signatures' in asEvent.body || 'hashes' in asEvent.body, 'served in the client format');
    const member = await bob.get(`${room(roomId)}/state/m.room.member/${encodeURIComponent(bob.user)}`);
    t.match(member.body, { membership: 'join', reason: 'hello' }, 'the join reason is on the membership event');

    const put = await alice.put(`${room(roomId)}/state/m.room.topic`, { topic: 'New topic' });
    t.equal(put.status, 200);
    t.same((await bob.get(`${room(roomId)}/state/m.room.topic/?format=event`)).body.event_id, put.body.event_id);
    const custom = await alice.put(`${room(roomId)}/state/org.example.thing/some%2Fkey`, { n: 1 });
    t.equal(custom.status, 200);
    t.same((await bob.get(`${room(roomId)}/state/org.example.thing/some%2Fkey`)).body, { n: 1 }, 'state keys may hold a slash');

    const all = await bob.get(`${room(roomId)}/state`);
    t.equal(all.status, 200);
    const types = new Set((all.body as Array<{ type: string }>).map((e) => e.type));
    for (const type of ['m.room.create', 'm.room.power_levels', 'm.room.join_rules', 'm.room.member', 'm.room.name', 'org.example.thing']) {
      t.ok(types.has(type), `full state holds ${type}`);
    }
    t.notOk(types.has('m.room.message'), 'no message events in the state');

    const missing = await bob.get(`${room(roomId)}/state/m.room.avatar/`);
    t.same([missing.status, missing.body.errcode], [404, 'M_NOT_FOUND']);
    const bobName = await bob.put(`${room(roomId)}/state/m.room.name/`, { name: 'Mine' });
    t.same([bobName.status, bobName.body.errcode], [403, 'M_FORBIDDEN'], 'bob has no power to rename');
  });
});

t.test('send is idempotent per device and transaction id', async (t) => {
  await eachEngine(t, 'transactions', async (t, db) => {
    const { app, alice } = await world(t, db);
    const roomId = await alice.createRoom();
    const first = await alice.send(roomId, 'once', 'txn1');
    const again = await alice.send(roomId, 'once', 'txn1');
    t.equal(first.status, 200);
    t.same(again, first, 'a retransmission gets the same answer');

    const concurrent = await Promise.all([alice.send(roomId, 'race', 'txn2'), alice.send(roomId, 'race', 'txn2')]);
    t.equal(concurrent[0].body.event_id, concurrent[1].body.event_id, 'two racing retransmissions make one event');

    const login = await app.inject({
      method: 'POST',
      url: `${V3}/login`,
      payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw' },
    });
    const phone = client(app, login.json());
    const other = await phone.send(roomId, 'once', 'txn1');
    t.equal(other.status, 200);
    t.match(other.body.event_id, /^\$/);
    t.not(other.body.event_id, first.body.event_id, 'another device with the same txnId sends a new event');

    const otherRoom = await alice.createRoom();
    const elsewhere = await alice.send(otherRoom, 'once', 'txn1');
    t.equal(elsewhere.status, 200);
    t.not(elsewhere.body.event_id, first.body.event_id, 'the same txnId on another room path is a new request');

    // The first request went through, its answer was lost, and she left before retrying: the retry still
    // gets her message back (a new one would be refused), and nothing new is sent.
    const before = (await alice.get(`${room(otherRoom)}/messages?dir=b&limit=50`)).body.chunk.length;
    await alice.post(`${room(otherRoom)}/leave`, {});
    const retried = await alice.send(otherRoom, 'once', 'txn1');
    t.same([retried.status, retried.body.event_id], [200, elsewhere.body.event_id]);
    const refused = await alice.send(otherRoom, 'new', 'txn3');
    t.same([refused.status, refused.body.errcode], [403, 'M_FORBIDDEN'], 'a new message is refused');
    t.equal((await alice.get(`${room(otherRoom)}/messages?dir=b&limit=50`)).body.chunk.length, before + 1, 'only her leave was added');
  });
});

t.test('what the room refuses', async (t) => {
  await eachEngine(t, 'forbidden cases', async (t, db) => {
    const { alice, bob, carol } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });

    const outsider = await bob.send(roomId, 'let me in', 't');
    t.same([outsider.status, outsider.body.errcode], [403, 'M_FORBIDDEN'], 'a non-member cannot send');
    t.same((await bob.get(`${room(roomId)}/state`)).body.errcode, 'M_FORBIDDEN', 'a non-member cannot read state');
    t.same((await bob.get(`${room(roomId)}/joined_members`)).body.errcode, 'M_FORBIDDEN');

    t.equal((await bob.post(`${room(roomId)}/join`)).status, 200, 'public room: anyone local joins');
    t.equal((await carol.post(`${room(roomId)}/join`)).status, 200);
    const kick = await bob.post(`${room(roomId)}/kick`, { user_id: carol.user });
    t.same([kick.status, kick.body.errcode], [403, 'M_FORBIDDEN'], 'kick without power');
    const ban = await bob.post(`${room(roomId)}/ban`, { user_id: alice.user });
    t.same([ban.status, ban.body.errcode], [403, 'M_FORBIDDEN'], 'ban without power');

    t.equal((await alice.post(`${room(roomId)}/ban`, { user_id: carol.user, reason: 'spam' })).status, 200);
    const kickBanned = await alice.post(`${room(roomId)}/kick`, { user_id: carol.user });
    t.same([kickBanned.status, kickBanned.body.errcode], [403, 'M_FORBIDDEN'], 'a kick does not lift a ban');
    t.same((await alice.get(`${room(roomId)}/state/m.room.member/${encodeURIComponent(carol.user)}`)).body.membership, 'ban');
    t.same((await carol.post(`${room(roomId)}/join`)).body.errcode, 'M_FORBIDDEN', 'banned users cannot join');
    const unbanMember = await alice.post(`${room(roomId)}/unban`, { user_id: bob.user });
    t.same(unbanMember.body.errcode, 'M_FORBIDDEN', 'unban does not kick a member who is not banned');
    t.equal((await alice.post(`${room(roomId)}/unban`, { user_id: carol.user })).status, 200);
    t.equal((await carol.post(`${room(roomId)}/join`)).status, 200, 'unbanned, carol joins again');

    t.equal((await alice.post(`${room(roomId)}/kick`, { user_id: bob.user, reason: 'bye' })).status, 200);
    t.same((await bob.send(roomId, 'still here?', 't2')).body.errcode, 'M_FORBIDDEN', 'kicked users cannot send');

    const invOnly = await alice.createRoom({ preset: 'private_chat' });
    t.same((await carol.post(`${room(invOnly)}/join`)).body.errcode, 'M_FORBIDDEN', 'invite-only room');
    t.equal((await carol.post(`/knock/${encodeURIComponent(invOnly)}`)).status, 403, 'no knocking on an invite-only room');
  });
});

t.test('a member who left reads the state as it was when they left', async (t) => {
  await eachEngine(t, 'departed members', async (t, db) => {
    const { alice, bob } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat', topic: 'Before' });
    await bob.post(`${room(roomId)}/join`);
    t.same(await bob.post(`${room(roomId)}/leave`, { reason: 'off' }), { status: 200, body: {} });
    await alice.put(`${room(roomId)}/state/m.room.topic/`, { topic: 'After' });
    t.same((await bob.get(`${room(roomId)}/state/m.room.topic`)).body.topic, 'Before');
    t.same((await alice.get(`${room(roomId)}/state/m.room.topic`)).body.topic, 'After');
    t.same((await bob.get(`${room(roomId)}/joined_members`)).body.errcode, 'M_FORBIDDEN', 'joined_members is for members only');
    t.same((await bob.get('/joined_rooms')).body, { joined_rooms: [] });
    t.same(Object.keys((await alice.get(`${room(roomId)}/joined_members`)).body.joined), [alice.user]);

    // Banned, not departed: the room's state is closed to them until they are unbanned.
    await bob.post(`${room(roomId)}/join`);
    await alice.post(`${room(roomId)}/ban`, { user_id: bob.user, reason: 'spam' });
    const banned = await bob.get(`${room(roomId)}/state/m.room.topic`);
    t.same([banned.status, banned.body.errcode], [403, 'M_FORBIDDEN']);
    t.same((await bob.get(`${room(roomId)}/state`)).body.errcode, 'M_FORBIDDEN');
  });
});

t.test('createRoom options and refusals', async (t) => {
  const db = await testDatabase(t);
  const { app, alice, bob } = await world(t, db);

  const unsupported = await alice.post('/createRoom', { room_version: '99' });
  t.same([unsupported.status, unsupported.body.errcode], [400, 'M_UNSUPPORTED_ROOM_VERSION']);
  const alias = await alice.post('/createRoom', { room_alias_name: 'lob:by' });
  t.same([alias.status, alias.body.errcode], [400, 'M_INVALID_PARAM'], 'an alias name with a colon (aliases: directory.test.ts)');
  const remote = await alice.post('/createRoom', { invite: ['@dave:elsewhere.test'] });
  t.same([remote.status, remote.body.errcode], [403, 'M_FORBIDDEN']);
  t.match(remote.body.error, /federation is not available/);
  const badId = await alice.post('/createRoom', { invite: ['dave'] });
  t.same([badId.status, badId.body.errcode], [400, 'M_INVALID_PARAM']);
  const noPower = await alice.post('/createRoom', {
    room_version: '10',
    name: 'x',
    power_level_content_override: { events: { 'm.room.name': 200 } },
  });
  t.same([noPower.status, noPower.body.errcode], [400, 'M_INVALID_ROOM_STATE'], 'an initial state the auth rules refuse');
  t.same((await alice.get('/joined_rooms')).body.joined_rooms, [], 'no refused request left a room behind');

  const notJson = await app.inject({ method: 'POST', url: `${V3}/createRoom`, headers: bearer((await registerUser(app, 'erin')).access_token), payload: '{nope' });
  t.same([notJson.statusCode, notJson.json().errcode], [400, 'M_NOT_JSON']);
  const badShape = await alice.post('/createRoom', { invite: 'bob' });
  t.same([badShape.status, badShape.body.errcode], [400, 'M_BAD_JSON']);
  const badPreset = await alice.post('/createRoom', { preset: 'party' });
  t.same(badPreset.body.errcode, 'M_BAD_JSON');

  const dm = await alice.post('/_matrix/client/r0/createRoom', {
    preset: 'trusted_private_chat',
    is_direct: true,
    invite: [bob.user],
    room_version: '10',
    creation_content: { 'm.federate': false },
    initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
  });
  t.equal(dm.status, 200, 'the r0 path works');
  const dmRoom = dm.body.room_id as string;
  t.equal((await bob.post(`${room(dmRoom)}/join`)).status, 200, 'the invitee joins');
  t.same((await bob.get(`${room(dmRoom)}/state/m.room.create`)).body, { 'm.federate': false, room_version: '10', creator: alice.user });
  t.same((await bob.get(`${room(dmRoom)}/state/m.room.encryption/`)).body, { algorithm: 'm.megolm.v1.aes-sha2' });
  const power = (await bob.get(`${room(dmRoom)}/state/m.room.power_levels`)).body;
  t.equal(power.users[bob.user], 100, 'trusted_private_chat makes invitees admins');
  const inviteEvent = (await bob.get(`${room(dmRoom)}/state`)).body.find(
    (e: { type: string; state_key?: string }) => e.type === 'm.room.member' && e.state_key === bob.user,
  );
  t.equal(inviteEvent.content.membership, 'join');
});

t.test('rooms and users on other servers, aliases and unknown rooms', async (t) => {
  const db = await testDatabase(t);
  const { alice, bob } = await world(t, db);
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  const stateBefore = (await alice.get(`${room(roomId)}/state`)).body.length;

  const remoteInvite = await alice.post(`${room(roomId)}/invite`, { user_id: '@dave:elsewhere.test' });
  t.same([remoteInvite.status, remoteInvite.body.errcode], [403, 'M_FORBIDDEN']);
  t.match(remoteInvite.body.error, /federation is not available/);
  const remoteMember = await alice.put(`${room(roomId)}/state/m.room.member/${encodeURIComponent('@dave:elsewhere.test')}`, { membership: 'invite' });
  t.same(remoteMember.body.errcode, 'M_FORBIDDEN', 'nor by state: an invite needs the invitee\'s server');
  t.equal((await alice.get(`${room(roomId)}/state`)).body.length, stateBefore, 'no event was built for a remote invitee');
  // A ban needs no other server: it is an event of this room (which federation, when on, carries).
  const remoteBan = await alice.post(`${room(roomId)}/ban`, { user_id: '@dave:elsewhere.test', reason: 'pre-emptive' });
  t.equal(remoteBan.status, 200, JSON.stringify(remoteBan.body));
  const ban = await alice.get(`${room(roomId)}/state/m.room.member/${encodeURIComponent('@dave:elsewhere.test')}`);
  t.same(ban.body, { membership: 'ban', reason: 'pre-emptive' }, 'a user of another server can be banned before ever joining');

  const remoteRoom = await bob.post(`/join/${encodeURIComponent('!abc:elsewhere.test')}`);
  t.same([remoteRoom.status, remoteRoom.body.errcode], [403, 'M_FORBIDDEN']);
  t.match(remoteRoom.body.error, /federation is not available/);
  const unknown = await bob.post(`${room('!nothere:hearth.test')}/join`);
  t.same([unknown.status, unknown.body.errcode], [404, 'M_NOT_FOUND'], 'joining a room that does not exist');
  const unknownSend = await alice.send('!nothere:hearth.test', 'hello?', 't');
  t.same([unknownSend.status, unknownSend.body.errcode], [403, 'M_FORBIDDEN'], 'sending to an unknown room, as to one you are not in');
  const aliasJoin = await bob.post(`/join/${encodeURIComponent('#lobby:hearth.test')}`);
  t.same([aliasJoin.status, aliasJoin.body.errcode], [404, 'M_NOT_FOUND']);
  t.match(aliasJoin.body.error, /alias/);
  const garbage = await bob.post('/join/lobby');
  t.same([garbage.status, garbage.body.errcode], [400, 'M_INVALID_PARAM']);

  const newAlias = await alice.put(`${room(roomId)}/state/m.room.canonical_alias`, { alias: '#lobby:hearth.test' });
  t.same([newAlias.status, newAlias.body.errcode], [400, 'M_BAD_ALIAS'], 'a canonical alias must point to the room');
  const cleared = await alice.put(`${room(roomId)}/state/m.room.canonical_alias`, {});
  t.equal(cleared.status, 200, 'an alias-free canonical_alias event is fine');
});

t.test('event contents the event format refuses', async (t) => {
  const db = await testDatabase(t);
  const { alice } = await world(t, db);
  const roomId = await alice.createRoom();
  const big = await alice.put(`${room(roomId)}/send/m.room.message/big`, { body: 'x'.repeat(70_000) });
  t.same([big.status, big.body.errcode], [413, 'M_TOO_LARGE']);
  const float = await alice.put(`${room(roomId)}/send/m.room.message/float`, { body: 'pi', value: 3.14 });
  t.same([float.status, float.body.errcode], [400, 'M_BAD_JSON'], 'floats have no canonical JSON form');
  const noToken = await alice.call('GET', '/joined_rooms');
  t.equal(noToken.status, 200);
});

t.test('what Synapse-era clients rely on: legacy send, join content, idempotent state, peeking at state', async (t) => {
  await eachEngine(t, 'compat', async (t, db) => {
    const { alice, bob, carol } = await world(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });

    const sent = await alice.post(`${room(roomId)}/send/m.room.message`, { msgtype: 'm.text', body: 'no txn' });
    t.match(sent, { status: 200, body: { event_id: /^\$/ } }, 'POST /send/{eventType} without a transaction id sends');
    const again = await alice.post(`${room(roomId)}/send/m.room.message`, { msgtype: 'm.text', body: 'no txn' });
    t.not(again.body.event_id, sent.body.event_id, 'without a transaction id, each request is a new message');

    t.equal((await bob.post(`/join/${encodeURIComponent(roomId)}`, { foo: 'bar', membership: 'leave' })).status, 200);
    const member = await bob.get(`${room(roomId)}/state/m.room.member/${encodeURIComponent(bob.user)}`);
    t.match(member.body, { foo: 'bar', membership: 'join', displayname: 'bob' }, 'the join body goes into the member event; membership stays the server\'s');
    const memberEvent = () => bob.get(`${room(roomId)}/state/m.room.member/${encodeURIComponent(bob.user)}?format=event`);
    const memberBefore = (await memberEvent()).body.event_id;
    t.equal((await bob.post(`${room(roomId)}/join`, { foo: 'bar' })).status, 200);
    t.equal((await memberEvent()).body.event_id, memberBefore, 'joining again with the same content makes no new member event');

    const first = await alice.put(`${room(roomId)}/state/a.test.type/`, { a_key: 'a_value' });
    const second = await alice.put(`${room(roomId)}/state/a.test.type/`, { a_key: 'a_value' });
    t.equal(second.body.event_id, first.body.event_id, 'the same state again makes no new event');
    const changed = await alice.put(`${room(roomId)}/state/a.test.type/`, { a_key: 'another' });
    t.not(changed.body.event_id, first.body.event_id, 'changed content is a new event');
    const joinAgain = (await bob.post(`${room(roomId)}/join`, { foo: 'bar' })).status;
    t.equal(joinAgain, 200);
    const latest = await alice.get(`${room(roomId)}/messages?dir=b&limit=1`);
    t.equal(latest.body.chunk[0].event_id, changed.body.event_id, 'joining a room one is in with the same content adds nothing to the timeline');

    const members = await alice.get(`${room(roomId)}/joined_members`);
    t.same(members.body.joined[alice.user], { display_name: 'alice', avatar_url: null }, 'avatar_url is there, null when unset');

    t.equal((await carol.get(`${room(roomId)}/state`)).status, 403, 'a stranger reads no state of a members-only room');
    await alice.put(`${room(roomId)}/state/m.room.history_visibility/`, { history_visibility: 'world_readable' });
    const peek = await carol.get(`${room(roomId)}/state`);
    t.equal(peek.status, 200, 'anyone reads the state of a world-readable room');
    t.ok(peek.body.some((e: any) => e.type === 'a.test.type'));
    t.same((await carol.get(`${room(roomId)}/state/a.test.type`)).body, { a_key: 'another' });
  });
});
