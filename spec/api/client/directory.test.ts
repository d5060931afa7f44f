import t from 'tap';
import { eachEngine } from '../../helpers/database.js';
import { enc, threeUsers } from '../../helpers/directory-client.js';

const room = (roomId: string) => `/rooms/${enc(roomId)}`;

t.test('a room created with room_alias_name is found and joined by its alias', async (t) => {
  await eachEngine(t, 'alias on create', async (t, db) => {
    const { alice, bob, anonymous } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat', room_alias_name: 'lobby' });

    t.same((await anonymous.get(`/directory/room/${enc('#lobby:hearth.test')}`)).body, { room_id: roomId, servers: ['hearth.test'] },
      'anyone resolves the alias');
    t.same((await alice.get(`${room(roomId)}/state/m.room.canonical_alias`)).body, { alias: '#lobby:hearth.test' },
      'the alias is the room\'s canonical alias');

    t.same(await bob.post(`/join/${enc('#lobby:hearth.test')}`), { status: 200, body: { room_id: roomId } }, 'bob joins by alias');
    t.same((await bob.get('/joined_rooms')).body.joined_rooms, [roomId]);
    t.same((await bob.get(`${room(roomId)}/aliases`)).body, { aliases: ['#lobby:hearth.test'] });

    const taken = await bob.post('/createRoom', { room_alias_name: 'lobby' });
    t.same([taken.status, taken.body.errcode], [400, 'M_ROOM_IN_USE'], 'a taken alias is refused');
    t.same((await bob.get('/joined_rooms')).body.joined_rooms, [roomId], 'and no room was made for it');

    const spaced = await bob.post('/createRoom', { room_alias_name: 'two words' });
    t.same([spaced.status, spaced.body.errcode], [400, 'M_INVALID_PARAM']);
  });
});

t.test('aliases: create, resolve, delete, and who may', async (t) => {
  await eachEngine(t, 'alias lifecycle', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`${room(roomId)}/join`);
    const path = `/directory/room/${enc('#cafe:hearth.test')}`;

    const outsider = await carol.put(path, { room_id: roomId });
    t.same([outsider.status, outsider.body.errcode], [403, 'M_FORBIDDEN'], 'only members add aliases');
    t.same(await bob.put(path, { room_id: roomId }), { status: 200, body: {} }, 'a member adds one');
    const again = await alice.put(path, { room_id: roomId });
    t.same([again.status, again.body.errcode], [409, 'M_UNKNOWN'], 'an existing alias is 409');

    const remote = await alice.put(`/directory/room/${enc('#cafe:elsewhere.test')}`, { room_id: roomId });
    t.same([remote.status, remote.body.errcode], [400, 'M_INVALID_PARAM'], 'another server\'s alias cannot be set here');
    const bad = await alice.put(`/directory/room/cafe`, { room_id: roomId });
    t.same([bad.status, bad.body.errcode], [400, 'M_INVALID_PARAM']);
    const noRoom = await alice.put(`/directory/room/${enc('#x:hearth.test')}`, { room_id: '!nope:hearth.test' });
    t.same([noRoom.status, noRoom.body.errcode], [404, 'M_NOT_FOUND']);

    const unknown = await bob.get(`/directory/room/${enc('#nothing:hearth.test')}`);
    t.same([unknown.status, unknown.body.errcode], [404, 'M_NOT_FOUND']);
    const unknownJoin = await carol.post(`/join/${enc('#nothing:hearth.test')}`);
    t.same([unknownJoin.status, unknownJoin.body.errcode], [404, 'M_NOT_FOUND'], 'joining an unknown local alias');
    const remoteJoin = await carol.post(`/join/${enc('#cafe:elsewhere.test')}`);
    t.equal(remoteJoin.status, 403, 'a remote alias needs federation');
    t.match(remoteJoin.body.error, /federation/);

    t.same((await carol.get(`${room(roomId)}/aliases`)).body.errcode, 'M_FORBIDDEN', 'non-members cannot list aliases');

    // alice (power 100) points the canonical alias at bob's alias; bob may delete his own alias, and the
    // canonical alias loses it.
    t.equal((await alice.put(`${room(roomId)}/state/m.room.canonical_alias`, { alias: '#cafe:hearth.test' })).status, 200);
    const carolDelete = await carol.delete(path);
    t.same([carolDelete.status, carolDelete.body.errcode], [403, 'M_FORBIDDEN'], 'a stranger cannot delete it');
    t.same(await bob.delete(path), { status: 200, body: {} }, 'its creator deletes it without power in the room');
    t.same((await bob.get(path)).body.errcode, 'M_NOT_FOUND');
    t.same((await alice.delete(path)).body.errcode, 'M_NOT_FOUND', 'deleting twice');
    t.same((await alice.get(`${room(roomId)}/aliases`)).body, { aliases: [] });

    // The canonical alias still names it: bob (power 0) could not change the event, so alice's stands.
    t.same((await alice.get(`${room(roomId)}/state/m.room.canonical_alias`)).body, { alias: '#cafe:hearth.test' });
    await alice.put(path, { room_id: roomId });
    t.same(await alice.delete(path), { status: 200, body: {} }, 'a room admin deletes an alias');
    t.same((await alice.get(`${room(roomId)}/state/m.room.canonical_alias`)).body, {}, 'and the canonical alias drops it');
  });
});

t.test('m.room.canonical_alias may only name aliases that point to the room', async (t) => {
  await eachEngine(t, 'canonical alias check', async (t, db) => {
    const { alice } = await threeUsers(t, db);
    const roomId = await alice.createRoom({ room_alias_name: 'home' });
    const other = await alice.createRoom({ room_alias_name: 'away' });
    const state = `${room(roomId)}/state/m.room.canonical_alias`;

    const elsewhere = await alice.put(state, { alias: '#away:hearth.test' });
    t.same([elsewhere.status, elsewhere.body.errcode], [400, 'M_BAD_ALIAS'], 'an alias of another room');
    const missing = await alice.put(state, { alias: '#home:hearth.test', alt_aliases: ['#ghost:hearth.test'] });
    t.same([missing.status, missing.body.errcode], [400, 'M_BAD_ALIAS'], 'an alias that does not exist');
    const malformed = await alice.put(state, { alias: 'home' });
    t.same([malformed.status, malformed.body.errcode], [400, 'M_INVALID_PARAM'], 'not an alias at all');

    await alice.put(`/directory/room/${enc('#home2:hearth.test')}`, { room_id: roomId });
    const ok = await alice.put(state, { alias: '#home:hearth.test', alt_aliases: ['#home2:hearth.test'] });
    t.equal(ok.status, 200, 'aliases of this room are accepted');
    t.not(other, roomId);
  });
});

t.test('the published room directory', async (t) => {
  await eachEngine(t, 'public rooms', async (t, db) => {
    const { alice, bob, carol, anonymous } = await threeUsers(t, db);
    const big = await alice.createRoom({ visibility: 'public', preset: 'public_chat', name: 'Big Hall', topic: 'Everyone', room_alias_name: 'hall' });
    await bob.post(`${room(big)}/join`);
    await carol.post(`${room(big)}/join`);
    const small = await bob.createRoom({ visibility: 'public', preset: 'public_chat', name: 'Small Nook' });
    const quiet = await carol.createRoom({ preset: 'public_chat', name: 'Quiet' });
    await alice.createRoom({ visibility: 'public', preset: 'private_chat', name: 'Invite only' });

    const all = await anonymous.get('/publicRooms');
    t.equal(all.status, 200, 'no access token needed');
    t.match(all.body.chunk, [
      { room_id: big, name: 'Big Hall', topic: 'Everyone', canonical_alias: '#hall:hearth.test', num_joined_members: 3, world_readable: false, guest_can_join: false, join_rule: 'public' },
      { room_id: small, name: 'Small Nook', num_joined_members: 1 },
    ], 'most members first');
    t.equal(all.body.chunk.length, 2, 'unpublished and invite-only rooms are not listed');
    t.equal(all.body.total_room_count_estimate, 2);

    t.same((await anonymous.get(`/directory/list/room/${enc(quiet)}`)).body, { visibility: 'private' });
    t.same((await bob.put(`/directory/list/room/${enc(quiet)}`, { visibility: 'public' })).body.errcode, 'M_FORBIDDEN',
      'a non-member cannot publish a room');
    t.same(await carol.put(`/directory/list/room/${enc(quiet)}`, { visibility: 'public' }), { status: 200, body: {} });
    t.same((await anonymous.get(`/directory/list/room/${enc(quiet)}`)).body, { visibility: 'public' });
    t.same((await anonymous.get(`/directory/list/room/${enc('!nope:hearth.test')}`)).body.errcode, 'M_NOT_FOUND');

    const first = await anonymous.get('/publicRooms?limit=2');
    t.same(first.body.chunk.map((r: { room_id: string }) => r.room_id), [big, [small, quiet].sort()[0]]);
    t.ok(first.body.next_batch, 'a next page');
    t.notOk(first.body.prev_batch, 'no page before the first');
    const second = await anonymous.get(`/publicRooms?limit=2&since=${enc(first.body.next_batch)}`);
    t.same(second.body.chunk.map((r: { room_id: string }) => r.room_id), [[small, quiet].sort()[1]]);
    t.notOk(second.body.next_batch, 'the last page');
    const back = await anonymous.get(`/publicRooms?limit=2&since=${enc(second.body.prev_batch)}`);
    t.same(back.body.chunk, first.body.chunk, 'prev_batch leads back');

    const searched = await alice.post('/publicRooms', { filter: { generic_search_term: 'nook' } });
    t.same(searched.body.chunk.map((r: { room_id: string }) => r.room_id), [small], 'search by name');
    const spaces = await alice.post('/publicRooms', { filter: { room_types: ['m.space'] } });
    t.same(spaces.body.chunk, [], 'no spaces published');
    const firstPost = await alice.post('/publicRooms', { limit: 2, since: null });
    t.same(firstPost.body.chunk, first.body.chunk, 'POST with since: null is the first page (clients paging from the start send it)');
    const untyped = await alice.post('/publicRooms', { filter: { room_types: [null] }, limit: 1 });
    t.same(untyped.body.chunk.map((r: { room_id: string }) => r.room_id), [big]);

    const remote = await anonymous.get('/publicRooms?server=elsewhere.test');
    t.equal(remote.status, 403);
    t.match(remote.body.error, /federation/);
    t.same((await anonymous.get('/publicRooms?since=garbage')).body.errcode, 'M_INVALID_PARAM');

    t.same(await alice.put(`/directory/list/room/${enc(big)}`, { visibility: 'private' }), { status: 200, body: {} });
    t.notOk((await anonymous.get('/publicRooms')).body.chunk.some((r: { room_id: string }) => r.room_id === big), 'unpublished');
  });
});
