import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';

const V3 = '/_matrix/client/v3';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const profileUrl = (userId: string, key?: string) => `${V3}/profile/${encodeURIComponent(userId)}${key ? `/${key}` : ''}`;

async function memberContent(t: Test, app: FastifyInstance, token: string, roomId: string, userId: string) {
  const res = await app.inject({
    method: 'GET',
    url: `${V3}/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(userId)}`,
    headers: bearer(token),
  });
  t.equal(res.statusCode, 200, `member event of ${userId} readable`);
  return res.json() as Record<string, unknown>;
}

async function createRoom(t: Test, app: FastifyInstance, token: string, body: Record<string, unknown> = {}) {
  const res = await app.inject({ method: 'POST', url: `${V3}/createRoom`, headers: bearer(token), payload: body });
  t.equal(res.statusCode, 200, 'room created', { body: res.json() });
  return res.json().room_id as string;
}

void eachEngine(t, 'a new account has its localpart as displayname; set and read back both fields', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');

  const initial = await app.inject({ method: 'GET', url: profileUrl(alice.user_id) });
  t.equal(initial.statusCode, 200);
  t.same(initial.json(), { displayname: 'alice' }, 'default displayname, no avatar');

  const put = await app.inject({
    method: 'PUT', url: profileUrl(alice.user_id, 'displayname'), headers: bearer(alice.access_token), payload: { displayname: 'Alice A.' },
  });
  t.equal(put.statusCode, 200);
  t.same(put.json(), {});
  const avatar = await app.inject({
    method: 'PUT', url: profileUrl(alice.user_id, 'avatar_url'), headers: bearer(alice.access_token), payload: { avatar_url: 'mxc://hearth.test/AbC123' },
  });
  t.equal(avatar.statusCode, 200);

  const name = await app.inject({ method: 'GET', url: profileUrl(alice.user_id, 'displayname') });
  t.same(name.json(), { displayname: 'Alice A.' });
  const url = await app.inject({ method: 'GET', url: `/_matrix/client/r0/profile/${encodeURIComponent(alice.user_id)}/avatar_url` });
  t.same(url.json(), { avatar_url: 'mxc://hearth.test/AbC123' }, 'the r0 path answers too');
  t.same((await app.inject({ method: 'GET', url: profileUrl(alice.user_id) })).json(), {
    displayname: 'Alice A.',
    avatar_url: 'mxc://hearth.test/AbC123',
  });

  const cleared = await app.inject({
    method: 'PUT', url: profileUrl(alice.user_id, 'avatar_url'), headers: bearer(alice.access_token), payload: { avatar_url: '' },
  });
  t.equal(cleared.statusCode, 200, 'an empty avatar_url removes the avatar');
  const gone = await app.inject({ method: 'GET', url: profileUrl(alice.user_id, 'avatar_url') });
  t.equal(gone.statusCode, 200, 'an unset avatar is no error: every user has the field (as Synapse)');
  t.same(gone.json(), {}, 'and it is left out');
  const custom = await app.inject({ method: 'GET', url: profileUrl(alice.user_id, 'm.tz') });
  t.equal(custom.statusCode, 404, 'a key this server does not keep is not found');
  t.equal(custom.json().errcode, 'M_NOT_FOUND');
});

void eachEngine(t, 'DELETE /profile/{userId}/{keyName} removes a field of your own (Matrix 1.16)', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const bob = await registerUser(app, 'bob');
  const roomId = await createRoom(t, app, alice.access_token);
  const remove = (token: string, userId: string, key: string) => app.inject({ method: 'DELETE', url: profileUrl(userId, key), headers: bearer(token) });

  const deleted = await remove(alice.access_token, alice.user_id, 'displayname');
  t.same([deleted.statusCode, deleted.json()], [200, {}]);
  t.same((await app.inject({ method: 'GET', url: profileUrl(alice.user_id) })).json(), {}, 'the display name is gone');
  const member = await memberContent(t, app, alice.access_token, roomId, alice.user_id);
  t.notOk('displayname' in member, 'and gone from her member event in the rooms she is in');
  t.equal(member.membership, 'join');
  t.same((await remove(alice.access_token, alice.user_id, 'avatar_url')).json(), {}, 'a field that is not set: nothing to do, no error');
  t.equal((await remove(alice.access_token, alice.user_id, 'com.example.pronouns')).statusCode, 200, 'nor a namespaced field this server does not keep');

  const invalid = await remove(alice.access_token, alice.user_id, 'Not A Key');
  t.same([invalid.statusCode, invalid.json().errcode], [400, 'M_INVALID_PARAM']);
  const others = await remove(bob.access_token, alice.user_id, 'avatar_url');
  t.same([others.statusCode, others.json().errcode], [403, 'M_FORBIDDEN'], 'not another user\'s');
  const anonymous = await app.inject({ method: 'DELETE', url: profileUrl(alice.user_id, 'displayname') });
  t.equal(anonymous.statusCode, 401);
});

void eachEngine(t, 'bad values, other users and unknown users are refused', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const bob = await registerUser(app, 'bob');
  const put = (userId: string, key: string, payload: Record<string, unknown>, token = alice.access_token) =>
    app.inject({ method: 'PUT', url: profileUrl(userId, key), headers: bearer(token), payload });

  const forOther = await put(alice.user_id, 'displayname', { displayname: 'Not Alice' }, bob.access_token);
  t.equal(forOther.statusCode, 403);
  t.equal(forOther.json().errcode, 'M_FORBIDDEN');
  t.same((await app.inject({ method: 'GET', url: profileUrl(alice.user_id) })).json(), { displayname: 'alice' }, 'unchanged');

  const noToken = await app.inject({ method: 'PUT', url: profileUrl(alice.user_id, 'displayname'), payload: { displayname: 'x' } });
  t.equal(noToken.json().errcode, 'M_MISSING_TOKEN');

  const httpAvatar = await put(alice.user_id, 'avatar_url', { avatar_url: 'https://example.org/me.png' });
  t.equal(httpAvatar.statusCode, 400);
  t.equal(httpAvatar.json().errcode, 'M_INVALID_PARAM');
  t.match(httpAvatar.json().error, /mxc:\/\//);

  const long = await put(alice.user_id, 'displayname', { displayname: 'x'.repeat(257) });
  t.equal(long.statusCode, 400);
  t.equal(long.json().errcode, 'M_INVALID_PARAM');
  t.equal((await put(alice.user_id, 'displayname', { displayname: 'x'.repeat(256) })).statusCode, 200, '256 characters fit');

  const notString = await put(alice.user_id, 'displayname', { displayname: 42 });
  t.equal(notString.json().errcode, 'M_BAD_JSON');
  const missing = await put(alice.user_id, 'displayname', { avatar_url: 'mxc://hearth.test/a' });
  t.equal(missing.json().errcode, 'M_MISSING_PARAM');
  const otherKey = await put(alice.user_id, 'm.tz', { 'm.tz': 'Europe/London' });
  t.equal(otherKey.statusCode, 403, 'keys this server does not keep are refused');

  const unknown = await app.inject({ method: 'GET', url: profileUrl('@nobody:hearth.test') });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().errcode, 'M_NOT_FOUND');
  const remote = await app.inject({ method: 'GET', url: profileUrl('@carol:elsewhere.test', 'displayname') });
  t.equal(remote.statusCode, 404);
  t.match(remote.json(), { errcode: 'M_NOT_FOUND', error: /federate/ });
  const badId = await app.inject({ method: 'GET', url: profileUrl('not-a-user-id') });
  t.equal(badId.statusCode, 400);
});

void eachEngine(t, 'joins carry the profile, and a change reaches every joined room but not a left one', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = await registerUser(app, 'alice');
  const bob = await registerUser(app, 'bob');
  await app.inject({
    method: 'PUT', url: profileUrl(bob.user_id, 'avatar_url'), headers: bearer(bob.access_token), payload: { avatar_url: 'mxc://hearth.test/bob' },
  });

  // Distinct creation content: under the fixed test clock two bare creates are the same v12 create event.
  const roomA = await createRoom(t, app, alice.access_token, { preset: 'public_chat', creation_content: { 'org.example.n': 1 } });
  const roomB = await createRoom(t, app, alice.access_token, { preset: 'public_chat', creation_content: { 'org.example.n': 2 } });
  t.same(await memberContent(t, app, alice.access_token, roomA, alice.user_id), { membership: 'join', displayname: 'alice' }, "the creator's join");

  for (const room of [roomA, roomB]) {
    const join = await app.inject({ method: 'POST', url: `${V3}/join/${encodeURIComponent(room)}`, headers: bearer(bob.access_token), payload: {} });
    t.equal(join.statusCode, 200);
  }
  t.same(await memberContent(t, app, bob.access_token, roomA, bob.user_id), {
    membership: 'join',
    displayname: 'bob',
    avatar_url: 'mxc://hearth.test/bob',
  }, 'a join carries the joiner\'s profile');

  const leave = await app.inject({ method: 'POST', url: `${V3}/rooms/${encodeURIComponent(roomB)}/leave`, headers: bearer(bob.access_token), payload: {} });
  t.equal(leave.statusCode, 200);

  const rename = await app.inject({
    method: 'PUT', url: profileUrl(bob.user_id, 'displayname'), headers: bearer(bob.access_token), payload: { displayname: 'Bobby' },
  });
  t.equal(rename.statusCode, 200);
  t.same(await memberContent(t, app, alice.access_token, roomA, bob.user_id), {
    membership: 'join',
    displayname: 'Bobby',
    avatar_url: 'mxc://hearth.test/bob',
  }, 'the joined room has a new member event with the new name');
  t.same(await memberContent(t, app, alice.access_token, roomB, bob.user_id), { membership: 'leave' }, 'the left room is not re-joined');

  const members = await app.inject({ method: 'GET', url: `${V3}/rooms/${encodeURIComponent(roomA)}/joined_members`, headers: bearer(alice.access_token) });
  t.same(members.json().joined[bob.user_id], { display_name: 'Bobby', avatar_url: 'mxc://hearth.test/bob' });
});
