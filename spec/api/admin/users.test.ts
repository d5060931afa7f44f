import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { startTestServer } from '../../helpers/server.js';

/** Synapse's admin API for accounts: a server admin reads accounts, deactivates (and erases) them and resets passwords. */

const login = (user: string, password: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password });

t.test('a server admin reads and deactivates accounts and resets passwords; nobody else can', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const root = await registerUser(server.app, 'root', 'root password');
  await server.database.sql`update users set admin = true where user_id = ${root.user_id}`;
  const admin = testClient(server.app, root);
  const spammer = testClient(server.app, await registerUser(server.app, 'spammer', 'spam'));
  const carol = testClient(server.app, await registerUser(server.app, 'carol', 'carol password'));
  const room = await carol.createRoom({ preset: 'public_chat' });
  await spammer.post(`/join/${encodeURIComponent(room)}`);

  const details = (client: typeof admin, userId: string) => client.get(`/_synapse/admin/v2/users/${encodeURIComponent(userId)}`);
  await carol.put(`/profile/${encodeURIComponent(carol.user)}/displayname`, { displayname: 'Carol' });
  t.match((await details(admin, carol.user)).body, {
    name: carol.user, displayname: 'Carol', avatar_url: null, admin: false, deactivated: false, erased: false, is_guest: false,
    creation_ts: Number, last_seen_ts: Number, threepids: [], user_type: null,
  });
  await server.database.sql`insert into account_threepids (medium, address, user_id, validated_ts, added_ts) values ('email', 'carol@example.org', ${carol.user}, 1, 2)`;
  t.same((await details(admin, carol.user)).body.threepids, [{ medium: 'email', address: 'carol@example.org', added_at: 2, validated_at: 1 }], 'with the addresses on the account');
  t.match((await details(admin, root.user_id)).body, { admin: true });
  t.match(await details(carol, carol.user), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'only for admins');
  t.match(await details(admin, '@nobody:hearth.test'), { status: 404, body: { errcode: 'M_NOT_FOUND' } });

  const deactivate = (client: typeof admin, userId: string, body: Record<string, unknown> = {}) =>
    client.post(`/_synapse/admin/v1/deactivate/${encodeURIComponent(userId)}`, body);
  t.match(await deactivate(carol, spammer.user), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'not for users');
  t.match(await deactivate(admin, '@nobody:hearth.test'), { status: 404, body: { errcode: 'M_NOT_FOUND' } });
  t.match(await deactivate(admin, 'spammer'), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  t.same((await deactivate(admin, spammer.user, { erase: true })).body, { id_server_unbind_result: 'success' });
  t.match(await spammer.get('/account/whoami'), { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } }, 'their tokens stop working');
  t.match(await testClient(server.app, null).post('/login', login('spammer', 'spam')), { status: 403, body: { errcode: 'M_USER_DEACTIVATED' } });
  t.equal((await carol.get(`${roomPath(room)}/state/m.room.member/${encodeURIComponent(spammer.user)}`)).body.membership, 'leave', 'and they left their rooms');
  t.match((await details(admin, spammer.user)).body, { deactivated: true, erased: true, displayname: null });

  const reset = (client: typeof admin, userId: string, body: Record<string, unknown>) =>
    client.post(`/_synapse/admin/v1/reset_password/${encodeURIComponent(userId)}`, body);
  t.match(await reset(carol, carol.user, { new_password: 'x' }), { status: 403, body: { errcode: 'M_FORBIDDEN' } });
  t.match(await reset(admin, carol.user, { new_password: '' }), { status: 400, body: { errcode: 'M_MISSING_PARAM' } });
  t.same((await reset(admin, carol.user, { new_password: 'new carol password' })).body, {});
  t.match(await carol.get('/account/whoami'), { status: 401 }, 'her devices are logged out (logout_devices defaults to true)');
  const anonymous = testClient(server.app, null);
  t.equal((await anonymous.post('/login', login('carol', 'carol password'))).status, 403, 'the old password no longer works');
  const relogged = await anonymous.post('/login', login('carol', 'new carol password'));
  t.equal(relogged.status, 200, 'the new one does');
  const carolAgain = testClient(server.app, relogged.body);
  t.same((await reset(admin, carol.user, { new_password: 'third', logout_devices: false })).body, {});
  t.equal((await carolAgain.get('/account/whoami')).status, 200, 'logout_devices: false keeps her logged in');
});

t.test('a server admin lists accounts a page at a time, filtered by name, deactivated ones on request', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const root = await registerUser(server.app, 'root', 'root password');
  await server.database.sql`update users set admin = true where user_id = ${root.user_id}`;
  const admin = testClient(server.app, root);
  const names = ['anna', 'bert', 'cleo', 'dora_x', 'doraxy'];
  for (const name of names) await registerUser(server.app, name, 'pw');
  const cleo = testClient(server.app, await registerUser(server.app, 'cleo2', 'pw'));
  await cleo.put(`/profile/${encodeURIComponent(cleo.user)}/displayname`, { displayname: 'Cleopatra' });
  await admin.post(`/_synapse/admin/v1/deactivate/${encodeURIComponent('@bert:hearth.test')}`, {});
  const list = (query: string, client = admin) => client.get(`/_synapse/admin/v2/users${query}`);

  const first = await list('?limit=3');
  t.equal(first.status, 200, JSON.stringify(first.body));
  t.same(first.body.users.map((u: { name: string }) => u.name), ['@anna:hearth.test', '@cleo2:hearth.test', '@cleo:hearth.test'], 'in user id order, deactivated accounts left out');
  t.equal(first.body.total, 6);
  t.equal(first.body.next_token, '3');
  const second = await list('?limit=3&from=3');
  t.same(second.body.users.map((u: { name: string }) => u.name), ['@dora_x:hearth.test', '@doraxy:hearth.test', '@root:hearth.test']);
  t.notOk('next_token' in second.body, 'the last page has no next_token');
  t.match(first.body.users[1], { displayname: 'Cleopatra', admin: false, deactivated: false, is_guest: false, creation_ts: Number, avatar_url: null });

  t.same((await list('?name=cleopatra')).body.users.map((u: { name: string }) => u.name), ['@cleo2:hearth.test'], 'by display name, case-insensitively');
  t.same((await list('?user_id=dora_')).body.users.map((u: { name: string }) => u.name), ['@dora_x:hearth.test'], 'an underscore matches itself');
  t.match((await list('?deactivated=true&name=bert')).body, { users: [{ name: '@bert:hearth.test', deactivated: true }], total: 1 });
  t.match(await list('', cleo), { status: 403, body: { errcode: 'M_FORBIDDEN' } });
  t.match(await list('?limit=0'), { status: 400 });
});

t.test('a server admin creates and changes accounts with PUT /_synapse/admin/v2/users/{userId}', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const root = await registerUser(server.app, 'root', 'root password');
  await server.database.sql`update users set admin = true where user_id = ${root.user_id}`;
  const admin = testClient(server.app, root);
  const anonymous = testClient(server.app, null);
  const put = (client: typeof admin, userId: string, body: Record<string, unknown>) => client.put(`/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, body);

  const created = await put(admin, '@newbie:hearth.test', { password: 'first password', displayname: 'New Bie', admin: false });
  t.equal(created.status, 201, 'created');
  t.match(created.body, { name: '@newbie:hearth.test', displayname: 'New Bie', admin: false, deactivated: false, locked: false });
  const loggedIn = await anonymous.post('/login', login('newbie', 'first password'));
  t.equal(loggedIn.status, 200, 'the password works');
  const newbie = testClient(server.app, loggedIn.body);

  t.match(await put(newbie, '@newbie:hearth.test', { admin: true }), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'only for admins');
  t.match(await put(admin, '@far:elsewhere.test', {}), { status: 400, body: { errcode: 'M_INVALID_PARAM' } }, 'local users only');
  t.match(await put(admin, '@newbie:hearth.test', { threepids: [{ medium: 'email', address: 'n@example.org' }] }), { status: 400, body: { errcode: 'M_INVALID_PARAM', error: /threepids/ } });
  t.match(await put(admin, '@newbie:hearth.test', { admin: 'yes' }), { status: 400, body: { errcode: 'M_BAD_JSON' } });
  t.match(await put(admin, '@other:hearth.test', { password: 'x', avatar_url: 'https://example.org/face.png' }), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  t.match(await admin.get('/_synapse/admin/v2/users/@other:hearth.test'), { status: 404 }, 'a bad avatar creates nothing');

  const changed = await put(admin, '@newbie:hearth.test', { displayname: 'Renamed', avatar_url: 'mxc://hearth.test/face', admin: true, locked: true });
  t.equal(changed.status, 200, 'changed');
  t.match(changed.body, { displayname: 'Renamed', avatar_url: 'mxc://hearth.test/face', admin: true, locked: true });
  t.match(await newbie.get('/account/whoami'), { status: 401, body: { errcode: 'M_USER_LOCKED' } });
  t.equal((await put(admin, '@newbie:hearth.test', { locked: false, password: 'second password', logout_devices: false })).status, 200);
  t.equal((await newbie.get('/account/whoami')).status, 200, 'unlocked, and logout_devices: false kept the session');
  t.equal((await anonymous.post('/login', login('newbie', 'second password'))).status, 200, 'the new password works');

  t.match((await put(admin, '@newbie:hearth.test', { deactivated: true })).body, { deactivated: true });
  t.match(await newbie.get('/account/whoami'), { status: 401 }, 'deactivated: its sessions end');
  t.match(await put(admin, '@newbie:hearth.test', { deactivated: false }), { status: 400, body: { errcode: 'M_INVALID_PARAM', error: /cannot reactivate/ } });
});
