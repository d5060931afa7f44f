import t from 'tap';
import { registerUser } from '../helpers/app.js';
import { roomPath, testClient } from '../helpers/client.js';
import { startFederationPair } from '../helpers/federation-pair.js';

/**
 * A space across two real Hearths: a user of B in a space of A sees its rooms, including those B has no
 * state for, which B asks A about over GET /_matrix/federation/v1/hierarchy.
 */

t.test('a space of A, walked by a user of B', async (t) => {
  const { a, b } = await startFederationPair(t);
  const alice = testClient(a.app, await registerUser(a.app, 'alice'));
  const bob = testClient(b.app, await registerUser(b.app, 'bob'));
  const space = await alice.createRoom({ preset: 'public_chat', name: 'Space of A', creation_content: { type: 'm.space' } });
  const lobby = await alice.createRoom({ preset: 'public_chat', name: 'Lobby' });
  const staff = await alice.createRoom({ preset: 'private_chat', name: 'Staff' });
  for (const child of [lobby, staff]) {
    const added = await alice.put(`${roomPath(space)}/state/m.space.child/${encodeURIComponent(child)}`, { via: [a.serverName] });
    t.equal(added.status, 200);
  }
  const joined = await bob.post(`/join/${encodeURIComponent(space)}?via=${encodeURIComponent(a.serverName)}`);
  t.equal(joined.status, 200, JSON.stringify(joined.body));

  const seen = await bob.get(`/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy`);
  t.equal(seen.status, 200, JSON.stringify(seen.body));
  t.same(seen.body.rooms.map((room: { room_id: string }) => room.room_id), [space, lobby], 'the lobby, which B has no state for, comes from A; the staff room does not');
  t.match(seen.body.rooms[1], { name: 'Lobby', join_rule: 'public', num_joined_members: 1, children_state: [] });

  const unsigned = await a.app.inject({ method: 'GET', url: `/_matrix/federation/v1/hierarchy/${encodeURIComponent(space)}` });
  t.same([unsigned.statusCode, unsigned.json().errcode], [401, 'M_UNAUTHORIZED'], 'A answers only signed requests');
});
