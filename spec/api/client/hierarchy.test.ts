import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { roomPath, testClient, type TestClient } from '../../helpers/client.js';
import { engines } from '../../helpers/database.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * GET /rooms/{roomId}/hierarchy: a space's rooms depth first, in the order the child events give, each
 * only to users who may see it (in it, invited, or able to join, knock or read), paged.
 */

const addChild = (alice: TestClient, space: string, child: string, content: Record<string, unknown>) =>
  alice.put(`${roomPath(space)}/state/m.space.child/${encodeURIComponent(child)}`, content);

const ids = (body: { rooms: Array<{ room_id: string }> }) => body.rooms.map((room) => room.room_id);

for (const engine of engines()) {
  t.test(`a space's rooms, as each user may see them (${engine})`, async (t) => {
    const server = await startTestServer(t, engine);
    const alice = testClient(server.app, await registerUser(server.app, 'alice'));
    const bob = testClient(server.app, await registerUser(server.app, 'bob'));
    const space = await alice.createRoom({ preset: 'public_chat', name: 'Hearth HQ', creation_content: { type: 'm.space' } });
    const general = await alice.createRoom({ preset: 'public_chat', name: 'General' });
    const secret = await alice.createRoom({ preset: 'private_chat', name: 'Secret' });
    const members = await alice.createRoom({
      room_version: '10',
      name: 'Members only',
      initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
    });
    const subspace = await alice.createRoom({ preset: 'public_chat', name: 'Projects', creation_content: { type: 'm.space' } });
    const project = await alice.createRoom({ preset: 'public_chat', name: 'Project X' });
    const removed = await alice.createRoom({ preset: 'public_chat', name: 'Gone' });
    const via = { via: ['hearth.test'] };
    for (const [child, content] of [
      [general, { ...via, order: 'b' }],
      [secret, via],
      [members, { ...via, suggested: true }],
      [subspace, { ...via, order: 'a' }],
      [removed, { via: [] }],
    ] as const) {
      t.equal((await addChild(alice, space, child, content)).status, 200);
    }
    t.equal((await addChild(alice, subspace, project, via)).status, 200);

    const seenByBob = await bob.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy`);
    t.equal(seenByBob.status, 200, JSON.stringify(seenByBob.body));
    t.same(ids(seenByBob.body), [space, subspace, project, general],
      'depth first, ordered children first; an invite-only room, a restricted room bob cannot join, and a child with no via are left out');
    const root = seenByBob.body.rooms[0];
    t.match(root, { room_id: space, name: 'Hearth HQ', room_type: 'm.space', join_rule: 'public', num_joined_members: 1, world_readable: false, guest_can_join: false });
    t.equal(typeof root.room_version, 'string');
    t.same(root.children_state.map((child: { state_key: string }) => child.state_key), [subspace, general, secret, members, removed]
      .filter((id) => id !== removed), 'the space\'s valid child events, stripped, in order');
    t.match(root.children_state[0], { type: 'm.space.child', sender: alice.user, content: { via: ['hearth.test'], order: 'a' }, origin_server_ts: Number });
    t.same(seenByBob.body.rooms[3].children_state, [], 'a room that is not a space has no children_state');

    t.equal((await bob.post(`/join/${encodeURIComponent(space)}`)).status, 200);
    const afterJoin = await bob.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy`);
    t.same(ids(afterJoin.body), [space, subspace, project, general, members], 'a member of the space may join its restricted room');
    t.same(afterJoin.body.rooms[4].allowed_room_ids, [space]);

    const seenByAlice = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy`);
    t.same(ids(seenByAlice.body), [space, subspace, project, general, secret, members], 'alice is in every room');
    const suggested = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?suggested_only=true`);
    t.same(ids(suggested.body), [space, members], 'suggested_only');
    const shallow = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?max_depth=1`);
    t.same(ids(shallow.body), [space, subspace, general, secret, members], 'max_depth=1 does not go into the subspace');
    const rootOnly = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?max_depth=0`);
    t.same(ids(rootOnly.body), [space]);

    const first = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?limit=2`);
    t.same(ids(first.body), [space, subspace]);
    t.type(first.body.next_batch, 'string');
    const second = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?limit=2&from=${first.body.next_batch}`);
    t.same(ids(second.body), [project, general]);
    const last = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?limit=2&from=${second.body.next_batch}`);
    t.same(ids(last.body), [secret, members]);
    t.notOk(last.body.next_batch, 'no next_batch after the last page');
    const changed = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?limit=2&max_depth=1&from=${first.body.next_batch}`);
    t.same([changed.status, changed.body.errcode], [400, 'M_INVALID_PARAM'], 'max_depth cannot change between pages');
    const bad = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?from=nonsense`);
    t.same([bad.status, bad.body.errcode], [400, 'M_INVALID_PARAM']);
    const zero = await alice.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy?limit=0`);
    t.same([zero.status, zero.body.errcode], [400, 'M_INVALID_PARAM']);

    const hidden = await alice.createRoom({ preset: 'private_chat', creation_content: { type: 'm.space' } });
    const refused = await bob.get(`/_matrix/client/v1/rooms/${encodeURIComponent(hidden)}/hierarchy`);
    t.same([refused.status, refused.body.errcode], [403, 'M_FORBIDDEN'], 'a space bob cannot see');
    const unknown = await bob.get(`/_matrix/client/v1/rooms/${encodeURIComponent('!nowhere:hearth.test')}/hierarchy`);
    t.same([unknown.status, unknown.body.errcode], [403, 'M_FORBIDDEN'], 'nor one that does not exist');
    const notAnId = await bob.get('/_matrix/client/v1/rooms/not-a-room/hierarchy');
    t.same([notAnId.status, notAnId.body.errcode], [400, 'M_INVALID_PARAM']);

    // Room summaries (Matrix 1.15), by id or alias, with the caller's membership.
    t.equal((await alice.put(`/directory/room/${encodeURIComponent('#hq:hearth.test')}`, { room_id: space })).status, 200);
    const summary = await bob.get(`/_matrix/client/v1/room_summary/${encodeURIComponent('#hq:hearth.test')}`);
    t.equal(summary.status, 200, JSON.stringify(summary.body));
    t.match(summary.body, { room_id: space, name: 'Hearth HQ', room_type: 'm.space', num_joined_members: 2, join_rule: 'public', membership: 'join' });
    t.notOk('children_state' in summary.body, 'a summary is not a hierarchy entry');
    const anonymous = await server.app.inject({ method: 'GET', url: `/_matrix/client/v1/room_summary/${encodeURIComponent(general)}` });
    t.equal(anonymous.statusCode, 200, 'a public room is summarised for callers without a token');
    t.notOk('membership' in anonymous.json(), 'who have no membership');
    const anonymousSecret = await server.app.inject({ method: 'GET', url: `/_matrix/client/v1/room_summary/${encodeURIComponent(secret)}` });
    t.same([anonymousSecret.statusCode, anonymousSecret.json().errcode], [404, 'M_NOT_FOUND'], 'an invite-only room is not');
    const bobSecret = await bob.get(`/_matrix/client/v1/room_summary/${encodeURIComponent(secret)}`);
    t.same([bobSecret.status, bobSecret.body.errcode], [404, 'M_NOT_FOUND'], 'not to bob either');
    t.equal((await alice.post(`${roomPath(secret)}/invite`, { user_id: bob.user })).status, 200);
    t.match((await bob.get(`/_matrix/client/v1/room_summary/${encodeURIComponent(secret)}`)).body, { room_id: secret, name: 'Secret', membership: 'invite' },
      'until he is invited');
  });
}
