import t from 'tap';
import { accountsApp, registerUser } from '../../helpers/app.js';
import { testClient, V3 } from '../../helpers/client.js';

const register = (app: Awaited<ReturnType<typeof accountsApp>>['app'], payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `${V3}/register`, payload });

t.test('a session continued with only auth registers with the first request\'s parameters', async (t) => {
  const { app } = await accountsApp(t);
  const start = await register(app, { username: 'alice', password: 'übers3kr1t', device_id: 'XYZZY', initial_device_display_name: 'display_name' });
  t.equal(start.statusCode, 401);
  t.same(start.json().completed, [], 'completed is there, empty, on the first 401');
  const done = await register(app, { auth: { type: 'm.login.dummy', session: start.json().session } });
  t.equal(done.statusCode, 200);
  t.match(done.json(), { user_id: '@alice:hearth.test', device_id: 'XYZZY', access_token: String });

  const alice = testClient(app, done.json());
  t.same((await alice.get('/devices/XYZZY')).body.display_name, 'display_name', 'the remembered device name');
  const login = await app.inject({
    method: 'POST', url: `${V3}/login`, payload: { type: 'm.login.password', user: 'alice', password: 'übers3kr1t' },
  });
  t.equal(login.statusCode, 200, 'the remembered non-ASCII password logs in');
});

t.test('completing the same session again answers with the same user, with or without a username', async (t) => {
  const { app } = await accountsApp(t);
  for (const username of [undefined, 'bob']) {
    const first = await register(app, { ...(username ? { username } : {}), password: 'pw' });
    const auth = { type: 'm.login.dummy', session: first.json().session };
    const once = await register(app, { ...(username ? { username } : {}), password: 'pw', auth });
    const twice = await register(app, { ...(username ? { username } : {}), password: 'pw', auth });
    t.equal(once.statusCode, 200);
    t.equal(twice.statusCode, 200, `repeat with username ${String(username)}`);
    t.equal(twice.json().user_id, once.json().user_id, 'the same user');
    t.not(twice.json().access_token, once.json().access_token, 'logged in afresh');
    if (username) t.equal(once.json().user_id, '@bob:hearth.test');
  }
  const other = await register(app, { username: 'bob', password: 'pw', auth: { type: 'm.login.dummy' } });
  t.equal(other.json().errcode, 'M_USER_IN_USE', 'another session still cannot take the name');
});

t.test('inhibit_login is remembered: the session ends with a user id and no device', async (t) => {
  const { app } = await accountsApp(t);
  const start = await register(app, { username: 'carol', password: 'pw', inhibit_login: true });
  const done = await register(app, { auth: { type: 'm.login.dummy', session: start.json().session } });
  t.same(done.json(), { user_id: '@carol:hearth.test' });
});

t.test('a 401 of a password-protected operation lists completed stages, and another user\'s password is 403', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'alice-pw');
  await registerUser(app, 'eve', 'eve-pw');
  const deactivate = await app.inject({
    method: 'POST', url: `${V3}/account/deactivate`, headers: { authorization: `Bearer ${alice.access_token}` },
    payload: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'wrong' } },
  });
  t.equal(deactivate.statusCode, 401);
  t.match(deactivate.json(), { errcode: 'M_FORBIDDEN', completed: [], flows: Array, params: {}, session: String });

  const client = testClient(app, alice);
  const stolen = await client.call('DELETE', `/devices/${alice.device_id}`, {
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@eve:hearth.test' }, password: 'eve-pw' },
  });
  t.equal(stolen.status, 403, "eve's password cannot delete alice's device");
  t.equal(stolen.body.errcode, 'M_FORBIDDEN');
  t.equal((await client.get(`/devices/${alice.device_id}`)).status, 200, 'the device is still there');
  const own = await client.call('DELETE', `/devices/${alice.device_id}`, {
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-pw' },
  });
  t.equal(own.status, 200, "alice's own password does");
});
