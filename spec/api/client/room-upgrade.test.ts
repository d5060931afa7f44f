import t from 'tap';
import { eachEngine } from '../../helpers/database.js';
import { enc, threeUsers, type Client } from '../../helpers/directory-client.js';

const room = (roomId: string) => `/rooms/${enc(roomId)}`;

async function stateOf(client: Client, roomId: string, type: string, key = '') {
  return (await client.get(`${room(roomId)}/state/${type}/${enc(key)}`)).body;
}

t.test('an upgrade makes a replacement room that carries on the old one', async (t) => {
  await eachEngine(t, 'upgrade v10 to v11', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    const oldRoom = await alice.createRoom({
      room_version: '10',
      preset: 'public_chat',
      visibility: 'public',
      name: 'Lobby',
      topic: 'Say hi',
      room_alias_name: 'lobby',
      power_level_content_override: { users: { [alice.user]: 100, [bob.user]: 10 } },
    });
    t.equal((await bob.post(`${room(oldRoom)}/join`)).status, 200);
    t.equal((await carol.post(`${room(oldRoom)}/join`)).status, 200);
    t.equal((await alice.post(`${room(oldRoom)}/ban`, { user_id: carol.user, reason: 'spam' })).status, 200);
    const last = await alice.send(oldRoom, 'before the upgrade', 'm1');

    const res = await alice.post(`${room(oldRoom)}/upgrade`, { new_version: '11' });
    t.equal(res.status, 200);
    const newRoom = res.body.replacement_room as string;
    t.match(newRoom, /^!/);
    t.not(newRoom, oldRoom);

    const oldState = (await alice.get(`${room(oldRoom)}/state`)).body as Array<{ type: string; event_id: string }>;
    const tombstone = oldState.find((event) => event.type === 'm.room.tombstone');
    t.ok(tombstone, 'the old room has a tombstone');
    t.not(tombstone?.event_id, last.body.event_id);
    t.match(await stateOf(alice, newRoom, 'm.room.create'), {
      room_version: '11',
      predecessor: { room_id: oldRoom, event_id: tombstone?.event_id },
    }, 'the create event names the predecessor and its tombstone, the last event before the new room');
    t.same(await stateOf(alice, newRoom, 'm.room.name'), { name: 'Lobby' });
    t.match(await stateOf(alice, newRoom, 'm.room.topic'), { topic: 'Say hi' });
    t.same(await stateOf(alice, newRoom, 'm.room.join_rules'), { join_rule: 'public' });
    t.same(await stateOf(alice, newRoom, 'm.room.history_visibility'), await stateOf(alice, oldRoom, 'm.room.history_visibility'));
    const oldLevels = await stateOf(alice, oldRoom, 'm.room.power_levels');
    const newLevels = await stateOf(alice, newRoom, 'm.room.power_levels');
    t.same(newLevels.users, { [alice.user]: 100, [bob.user]: 10 }, 'the users\' levels are copied');
    t.same(newLevels.events, oldLevels.events, 'the event levels are copied');
    t.equal(newLevels.state_default, 50);
    t.same((await alice.get(`${room(newRoom)}/state/m.room.member/${enc(carol.user)}`)).body, { membership: 'ban', reason: 'spam' },
      'a ban carries over');
    t.same((await alice.get(`/joined_rooms`)).body.joined_rooms.sort(), [newRoom, oldRoom].sort(), 'the upgrader is in the new room');
    t.same(Object.keys((await alice.get(`${room(newRoom)}/joined_members`)).body.joined), [alice.user], 'and nobody else is moved');

    t.same(await stateOf(alice, oldRoom, 'm.room.tombstone'), { body: 'This room has been replaced', replacement_room: newRoom });
    t.match(oldLevels, { events_default: 50, invite: 50 }, 'the old room is restricted');
    t.equal((await bob.send(oldRoom, 'still here?', 'b1')).body.errcode, 'M_FORBIDDEN', 'an ordinary member can no longer talk there');

    t.same((await bob.get(`/directory/room/${enc('#lobby:hearth.test')}`)).body, { room_id: newRoom, servers: ['hearth.test'] },
      'the alias resolves to the new room');
    t.same(await stateOf(alice, newRoom, 'm.room.canonical_alias'), { alias: '#lobby:hearth.test' }, 'the canonical alias moved');
    t.same(await stateOf(alice, oldRoom, 'm.room.canonical_alias'), {}, 'and left the old room');
    t.same((await bob.get(`/directory/list/room/${enc(newRoom)}`)).body, { visibility: 'public' }, 'the new room is listed');
    t.same((await bob.get(`/directory/list/room/${enc(oldRoom)}`)).body, { visibility: 'private' }, 'the old one is not');

    t.equal((await bob.post(`${room(newRoom)}/join`)).status, 200, 'members follow by joining');
    t.equal((await carol.post(`${room(newRoom)}/join`)).body.errcode, 'M_FORBIDDEN', 'but the banned user cannot');
  });
});

t.test('who may upgrade, and to what', async (t) => {
  await eachEngine(t, 'refusals', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ room_version: '10', preset: 'public_chat' });
    t.equal((await bob.post(`${room(roomId)}/join`)).status, 200);

    const member = await bob.post(`${room(roomId)}/upgrade`, { new_version: '11' });
    t.same([member.status, member.body.errcode], [403, 'M_FORBIDDEN'], 'a member without tombstone power');
    const outsider = await carol.post(`${room(roomId)}/upgrade`, { new_version: '11' });
    t.same([outsider.status, outsider.body.errcode], [403, 'M_FORBIDDEN'], 'a non-member');
    const unknownRoom = await alice.post(`${room('!nope:hearth.test')}/upgrade`, { new_version: '11' });
    t.same([unknownRoom.status, unknownRoom.body.errcode], [404, 'M_NOT_FOUND'], 'a room this server does not hold');
    const remoteRoom = await alice.post(`${room('!fail:unknown')}/upgrade`, { new_version: '11' });
    t.same([remoteRoom.status, remoteRoom.body.errcode], [404, 'M_NOT_FOUND'], 'nor one whose id names another server');
    const version = await alice.post(`${room(roomId)}/upgrade`, { new_version: '999' });
    t.same([version.status, version.body.errcode], [400, 'M_UNSUPPORTED_ROOM_VERSION']);
    const missing = await alice.post(`${room(roomId)}/upgrade`, {});
    t.equal(missing.status, 400, 'new_version is required');

    t.same((await alice.get(`${room(roomId)}/state/m.room.tombstone`)).body.errcode, 'M_NOT_FOUND', 'nothing was tombstoned');
    t.same((await alice.get('/joined_rooms')).body.joined_rooms, [roomId], 'and no room was made');
  });
});

t.test('upgrading to room version 12 makes the upgrader a creator', async (t) => {
  await eachEngine(t, 'upgrade v10 to v12', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const oldRoom = await alice.createRoom({
      room_version: '10',
      preset: 'private_chat',
      name: 'Secret',
      invite: [bob.user],
      power_level_content_override: { users: { [alice.user]: 100, [bob.user]: 100 } },
    });
    t.equal((await bob.post(`${room(oldRoom)}/join`)).status, 200);

    const res = await bob.post(`${room(oldRoom)}/upgrade`, { new_version: '12', additional_creators: [alice.user] });
    t.equal(res.status, 200, 'another admin may upgrade');
    const newRoom = res.body.replacement_room as string;

    const create = (await bob.get(`${room(newRoom)}/state/m.room.create/?format=event`)).body;
    t.equal(create.sender, bob.user, 'the upgrader creates the new room');
    t.match(create.content, { room_version: '12', additional_creators: [alice.user], predecessor: { room_id: oldRoom } });
    t.notOk('creator' in create.content, 'v11+ create events name no creator');
    const levels = await stateOf(bob, newRoom, 'm.room.power_levels');
    t.same(levels.users, {}, 'creators are not listed in power levels users');
    t.same(await stateOf(bob, newRoom, 'm.room.join_rules'), { join_rule: 'invite' });
    t.same(await stateOf(bob, newRoom, 'm.room.name'), { name: 'Secret' });
    t.equal((await stateOf(alice, oldRoom, 'm.room.tombstone')).replacement_room, newRoom);

    t.equal((await bob.post(`${room(newRoom)}/invite`, { user_id: alice.user })).status, 200);
    t.equal((await alice.post(`${room(newRoom)}/join`)).status, 200);
    t.equal((await alice.put(`${room(newRoom)}/state/m.room.topic`, { topic: 'creators rule' })).status, 200,
      'the additional creator has power in the new room');

    const again = await bob.post(`${room(newRoom)}/upgrade`, { new_version: '12' });
    t.equal(again.status, 200, 'a v12 room upgrades again');
    t.match(await stateOf(bob, again.body.replacement_room, 'm.room.create'), { predecessor: { room_id: newRoom } });
  });
});

t.test('a moderator with tombstone power but less than admin upgrades', async (t) => {
  await eachEngine(t, 'temporary power', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const oldRoom = await alice.createRoom({
      room_version: '10',
      preset: 'public_chat',
      power_level_content_override: { users: { [alice.user]: 100, [bob.user]: 50 }, events: { 'm.room.tombstone': 50, 'm.room.power_levels': 100 } },
    });
    t.equal((await bob.post(`${room(oldRoom)}/join`)).status, 200);
    const res = await bob.post(`${room(oldRoom)}/upgrade`, { new_version: '11' });
    t.equal(res.status, 200, 'tombstone power is enough');
    const newRoom = res.body.replacement_room as string;
    t.same((await stateOf(bob, newRoom, 'm.room.power_levels')).users, { [alice.user]: 100, [bob.user]: 50 },
      'the raise that let bob set up the room is taken back');
    t.equal((await stateOf(bob, oldRoom, 'm.room.tombstone')).replacement_room, newRoom);
    t.equal((await stateOf(bob, oldRoom, 'm.room.power_levels')).events_default, 0,
      'bob may not change the old room\'s power levels, and the upgrade stands without it');
  });
});

t.test('tags, m.direct and push rules follow people into the new room', async (t) => {
  await eachEngine(t, 'carried over', async (t, db) => {
    const { alice, bob } = await threeUsers(t, db);
    const oldRoom = await alice.createRoom({ room_version: '10', preset: 'public_chat' });
    t.equal((await bob.post(`${room(oldRoom)}/join`)).status, 200);
    const tagsOf = (client: Client, roomId: string) => client.get(`/user/${enc(client.user)}/rooms/${enc(roomId)}/tags`);
    for (const client of [alice, bob]) {
      t.equal((await client.put(`/user/${enc(client.user)}/rooms/${enc(oldRoom)}/tags/u.work`, { order: 0.5 })).status, 200);
      t.equal((await client.put(`/pushrules/global/room/${enc(oldRoom)}`, { actions: [] })).status, 200);
    }
    t.equal((await alice.put(`/user/${enc(alice.user)}/account_data/m.direct`, { [bob.user]: [oldRoom] })).status, 200);

    const newRoom = (await alice.post(`${room(oldRoom)}/upgrade`, { new_version: '11' })).body.replacement_room as string;
    t.same((await tagsOf(alice, newRoom)).body, { tags: { 'u.work': { order: 0.5 } } }, 'the upgrader keeps the room\'s tags');
    t.same((await alice.get(`/user/${enc(alice.user)}/account_data/m.direct`)).body, { [bob.user]: [oldRoom, newRoom] },
      'and the new room is a direct chat with the same person');
    t.same((await alice.get(`/pushrules/global/room/${enc(newRoom)}`)).body.actions, [], 'and stays muted');

    t.same((await tagsOf(bob, newRoom)).body, { tags: {} }, 'a member who has not followed yet has nothing there');
    t.equal((await bob.post(`${room(newRoom)}/join`)).status, 200);
    t.same((await tagsOf(bob, newRoom)).body, { tags: { 'u.work': { order: 0.5 } } }, 'joining carries the member\'s tags over');
    t.same((await bob.get(`/pushrules/global/room/${enc(newRoom)}`)).body.actions, [], 'and their push rule for the room');
    t.same((await tagsOf(bob, oldRoom)).body, { tags: { 'u.work': { order: 0.5 } } }, 'the old room keeps its own');
  });
});
