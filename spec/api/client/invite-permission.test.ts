import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { startFederationPair } from '../../helpers/federation-pair.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * Invite permission (Matrix 1.18): a user whose m.invite_permission_config says `default_action: block`
 * cannot be invited (M_INVITE_BLOCKED) and is shown no invites by /sync.
 */

const BLOCK = { default_action: 'block' };

t.test('a user who blocks invites gets none', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const alice = testClient(server.app, await registerUser(server.app, 'alice'));
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  const carol = testClient(server.app, await registerUser(server.app, 'carol'));
  const config = `/user/${encodeURIComponent(bob.user)}/account_data/m.invite_permission_config`;
  const earlier = await alice.createRoom({ name: 'Before' });
  t.equal((await alice.post(`${roomPath(earlier)}/invite`, { user_id: bob.user })).status, 200, 'invites are open by default');

  t.equal((await bob.put(config, BLOCK)).status, 200);
  const room = await alice.createRoom({ name: 'After' });
  const refused = await alice.post(`${roomPath(room)}/invite`, { user_id: bob.user });
  t.same([refused.status, refused.body.errcode], [403, 'M_INVITE_BLOCKED']);
  const byState = await alice.put(`${roomPath(room)}/state/m.room.member/${encodeURIComponent(bob.user)}`, { membership: 'invite' });
  t.same([byState.status, byState.body.errcode], [403, 'M_INVITE_BLOCKED'], 'nor by sending the member event');

  const both = await alice.createRoom({ name: 'Both', invite: [bob.user, carol.user] });
  const members = (await alice.get(`${roomPath(both)}/members`)).body.chunk as Array<{ state_key: string; content: { membership: string } }>;
  t.same(members.map((m) => [m.state_key, m.content.membership]).sort(), [[alice.user, 'join'], [carol.user, 'invite']].sort(),
    'createRoom invites the others and leaves bob out');

  const synced = await bob.sync();
  t.same(Object.keys(synced.body.rooms.invite), [], 'the invite from before is not shown either');
  t.ok((await carol.sync()).body.rooms.invite[both], 'carol sees hers');

  t.equal((await bob.put(config, {})).status, 200, 'the same event without default_action opens invites again');
  t.equal((await alice.post(`${roomPath(room)}/invite`, { user_id: bob.user })).status, 200);
  const open = await bob.sync();
  t.ok(open.body.rooms.invite[room], 'and shows them');
  t.equal((await bob.put(config, { default_action: 'allow-ish' })).status, 200);
  t.equal((await alice.post(`${roomPath(both)}/invite`, { user_id: bob.user })).status, 200, 'a value other than block blocks nothing');
});

t.test('an invite from another server to a user who blocks invites is refused there', async (t) => {
  const { a, b } = await startFederationPair(t);
  const alice = testClient(a.app, await registerUser(a.app, 'alice'));
  const bob = testClient(b.app, await registerUser(b.app, 'bob'));
  t.equal((await bob.put(`/user/${encodeURIComponent(bob.user)}/account_data/m.invite_permission_config`, BLOCK)).status, 200);
  const room = await alice.createRoom({ name: 'Across' });
  const refused = await alice.post(`${roomPath(room)}/invite`, { user_id: bob.user });
  t.equal(refused.status, 403, JSON.stringify(refused.body));
  t.equal(refused.body.errcode, 'M_INVITE_BLOCKED', 'B\'s refusal reaches alice as it was given');
  const members = (await alice.get(`${roomPath(room)}/members`)).body.chunk as Array<{ state_key: string }>;
  t.notOk(members.some((m) => m.state_key === bob.user), 'no invite was made');
});
