import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { engines } from '../../helpers/database.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * Synapse's admin API for rooms: a server admin lists every room (searched, sorted, paged), reads one
 * room and its members, and blocks a room so that nobody here can join it or be invited to it.
 */

const ROOMS = '/_synapse/admin/v1/rooms';

for (const engine of engines()) {
  t.test(`${engine}: listing, reading and blocking rooms`, async (t) => {
    const server = await startTestServer(t, engine);
    const root = await registerUser(server.app, 'root', 'root password');
    await server.database.sql`update users set admin = true where user_id = ${root.user_id}`;
    const admin = testClient(server.app, root);
    const carol = testClient(server.app, await registerUser(server.app, 'carol', 'carol password'));
    const bob = testClient(server.app, await registerUser(server.app, 'bob', 'bob password'));
    const dave = testClient(server.app, await registerUser(server.app, 'dave', 'dave password'));

    const alpha = await carol.createRoom({ preset: 'public_chat', visibility: 'public', name: 'Alpha', topic: 'all things A', room_alias_name: 'alpha' });
    await bob.post(`/join/${encodeURIComponent(alpha)}`);
    const beta = await carol.createRoom({
      preset: 'private_chat',
      name: 'beta',
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    const unnamed = await carol.createRoom({ preset: 'trusted_private_chat', invite: [bob.user], is_direct: true });

    t.match(await carol.get(ROOMS), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'only for admins');
    const list = await admin.get(ROOMS);
    t.equal(list.status, 200);
    t.same(list.body.rooms.map((room: { room_id: string }) => room.room_id), [alpha, beta, unnamed], 'by name, unnamed rooms last');
    t.same(list.body.rooms[0], {
      room_id: alpha,
      name: 'Alpha',
      canonical_alias: '#alpha:hearth.test',
      joined_members: 2,
      joined_local_members: 2,
      version: list.body.rooms[0].version,
      creator: carol.user,
      encryption: null,
      federatable: true,
      public: true,
      join_rules: 'public',
      guest_access: null,
      history_visibility: 'shared',
      state_events: list.body.rooms[0].state_events,
      room_type: null,
    });
    t.ok(list.body.rooms[0].state_events >= 6, 'the room\'s state events are counted');
    t.match(list.body.rooms[1], { name: 'beta', encryption: 'm.megolm.v1.aes-sha2', public: false, join_rules: 'invite', joined_members: 1 });
    t.match(list.body, { offset: 0, total_rooms: 3 });
    t.equal(list.body.next_batch, undefined);

    const byMembers = await admin.get(`${ROOMS}?order_by=joined_members&dir=b&limit=1`);
    t.same(byMembers.body.rooms.map((room: { room_id: string }) => room.room_id), [alpha]);
    t.match(byMembers.body, { next_batch: 1, total_rooms: 3 });
    const second = await admin.get(`${ROOMS}?order_by=joined_members&dir=b&limit=1&from=1`);
    t.match(second.body, { offset: 1, prev_batch: 0, next_batch: 2 });
    // The term matches room ids too, and a random id may hold "alp" in any case.
    const byTerm = [alpha, beta, unnamed].filter((roomId) => roomId === alpha || roomId.toLowerCase().includes('alp'));
    t.same((await admin.get(`${ROOMS}?search_term=ALP`)).body.rooms.map((room: { room_id: string }) => room.room_id), byTerm, 'searched by name, any case');
    t.same((await admin.get(`${ROOMS}?search_term=${encodeURIComponent(unnamed.slice(1, 8))}`)).body.rooms.map((room: { room_id: string }) => room.room_id), [unnamed], 'or room id');
    t.match(await admin.get(`${ROOMS}?order_by=colour`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    t.match(await admin.get(`${ROOMS}?dir=up`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });

    const details = await admin.get(`${ROOMS}/${encodeURIComponent(alpha)}`);
    t.match(details.body, { room_id: alpha, name: 'Alpha', topic: 'all things A', avatar: null, joined_members: 2 });
    t.match(await admin.get(`${ROOMS}/${encodeURIComponent('!nowhere:hearth.test')}`), { status: 404, body: { errcode: 'M_NOT_FOUND' } });
    t.match(await admin.get(`${ROOMS}/not-a-room`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    t.same((await admin.get(`${ROOMS}/${encodeURIComponent(alpha)}/members`)).body, { members: [bob.user, carol.user].sort(), total: 2 });

    const block = (value: boolean) => admin.put(`${ROOMS}/${encodeURIComponent(alpha)}/block`, { block: value });
    t.same((await admin.get(`${ROOMS}/${encodeURIComponent(alpha)}/block`)).body, { block: false });
    t.match(await carol.put(`${ROOMS}/${encodeURIComponent(alpha)}/block`, { block: true }), { status: 403 });
    t.same((await block(true)).body, { block: true });
    t.same((await admin.get(`${ROOMS}/${encodeURIComponent(alpha)}/block`)).body, { block: true, user_id: root.user_id });
    t.match(await dave.post(`/join/${encodeURIComponent(alpha)}`), { status: 403, body: { errcode: 'M_FORBIDDEN', error: /blocked/ } }, 'nobody joins a blocked room');
    t.match(await dave.post('/join/%23alpha:hearth.test'), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'by alias neither');
    t.match(await carol.post(`${roomPath(alpha)}/invite`, { user_id: dave.user }), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'nor is invited');
    t.equal((await bob.send(alpha, 'still here', 't1')).status, 200, 'its members stay and talk');
    t.same((await block(false)).body, { block: false });
    t.equal((await dave.post(`/join/${encodeURIComponent(alpha)}`)).status, 200, 'unblocked, it can be joined again');

    const ahead = await admin.put(`${ROOMS}/${encodeURIComponent('!elsewhere:remote.test')}/block`, { block: true });
    t.same(ahead.body, { block: true }, 'a room not held here can be blocked ahead');
  });
}

for (const engine of engines()) {
  t.test(`${engine}: shutting a room down`, async (t) => {
    const server = await startTestServer(t, engine);
    const root = await registerUser(server.app, 'root', 'root password');
    await server.database.sql`update users set admin = true where user_id = ${root.user_id}`;
    const admin = testClient(server.app, root);
    const spammer = testClient(server.app, await registerUser(server.app, 'spammer', 'spam'));
    const bob = testClient(server.app, await registerUser(server.app, 'bob', 'bob password'));
    const dave = testClient(server.app, await registerUser(server.app, 'dave', 'dave password'));
    const room = await spammer.createRoom({ preset: 'public_chat', visibility: 'public', name: 'Spam', room_alias_name: 'spam' });
    await bob.post(`/join/${encodeURIComponent(room)}`);
    await spammer.post(`${roomPath(room)}/invite`, { user_id: dave.user });
    const path = `${ROOMS}/${encodeURIComponent(room)}`;

    t.match(await bob.call('DELETE', path, { purge: false }), { status: 403, body: { errcode: 'M_FORBIDDEN' } });
    t.match(await admin.call('DELETE', path, {}), { status: 400, body: { errcode: 'M_INVALID_PARAM', error: /purge/ } }, 'purging is not built: asked for (the default), it is refused');
    t.match(await admin.call('DELETE', path, { purge: false, block: 'yes' }), { status: 400, body: { errcode: 'M_BAD_JSON' } });
    t.match(await admin.call('DELETE', path, { purge: false, new_room_user_id: '@nobody:hearth.test' }), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });

    const done = await admin.call('DELETE', path, { purge: false, block: true, new_room_user_id: root.user_id, message: 'This room broke the rules.' });
    t.equal(done.status, 200);
    t.same([...done.body.kicked_users].sort(), [bob.user, dave.user, spammer.user].sort(), 'every local member out, the invited too');
    t.same(done.body.failed_to_kick_users, []);
    t.same(done.body.local_aliases, ['#spam:hearth.test']);
    const notice = done.body.new_room_id as string;
    t.match(notice, /^!/);

    t.equal((await bob.get(`${roomPath(room)}/state/m.room.member/${encodeURIComponent(bob.user)}`)).body.membership, 'leave');
    t.equal((await dave.get(`${roomPath(room)}/state/m.room.member/${encodeURIComponent(dave.user)}`)).body.membership, 'leave', 'the invite withdrawn');
    t.match(await bob.post(`/join/${encodeURIComponent(room)}`), { status: 403 }, 'blocked: no way back');
    t.match(await bob.get('/directory/room/%23spam:hearth.test'), { status: 404 }, 'its alias is gone');
    t.same((await bob.get('/publicRooms')).body.chunk.filter((entry: { room_id: string }) => entry.room_id === room), [], 'and it is off the directory');
    t.ok((await bob.get('/joined_rooms')).body.joined_rooms.includes(notice), 'the joined members are in the notice room');
    const messages = await bob.get(`${roomPath(notice)}/messages?dir=b&limit=20`);
    t.ok(messages.body.chunk.some((event: { type: string; content: { body?: string } }) => event.type === 'm.room.message' && event.content.body === 'This room broke the rules.'));
    t.match(await bob.send(notice, 'why?', 'n1'), { status: 403 }, 'where only its maker may speak');
    t.notOk((await dave.get('/joined_rooms')).body.joined_rooms.includes(notice), 'the merely invited are not moved');
  });
}
