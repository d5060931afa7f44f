import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { accountsApp, registerUser } from '../../helpers/app.js';

/** Devices, logout/all, password change and deactivation through the real app. */

const V3 = '/_matrix/client/v3';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

function client(app: FastifyInstance, token: string) {
  return async (method: Method, path: string, payload?: unknown) => {
    const res = await app.inject({ method, url: `${V3}${path}`, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };
}

async function login(app: FastifyInstance, user: string, password: string, extra: Record<string, unknown> = {}) {
  const res = await app.inject({ method: 'POST', url: `${V3}/login`, payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra } });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { access_token: string; device_id: string } };
}

async function whoami(app: FastifyInstance, token: string) {
  const res = await app.inject({ method: 'GET', url: `${V3}/account/whoami`, headers: bearer(token) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

const passwordAuth = (user: string, password: string, session?: unknown) => ({
  type: 'm.login.password',
  identifier: { type: 'm.id.user', user },
  password,
  ...(session === undefined ? {} : { session }),
});

t.test('list, get and rename devices; unknown devices are M_NOT_FOUND', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'pw');
  const phone = await login(app, 'alice', 'pw', { device_id: 'PHONE', initial_device_display_name: 'My phone' });
  const call = client(app, alice.access_token);

  const list = await call('GET', '/devices');
  t.equal(list.status, 200);
  const devices = list.body.devices as Array<Record<string, unknown>>;
  t.same(devices.map((d) => d.device_id).sort(), [alice.device_id, 'PHONE'].sort());
  t.match(devices.find((d) => d.device_id === 'PHONE'), { display_name: 'My phone', last_seen_ts: Number });

  t.match((await call('GET', '/devices/PHONE')).body, { device_id: 'PHONE', display_name: 'My phone' });
  t.same(await call('PUT', '/devices/PHONE', { display_name: 'Old phone' }), { status: 200, body: {} });
  t.equal((await call('GET', '/devices/PHONE')).body.display_name, 'Old phone');
  t.same(await call('PUT', '/devices/PHONE', {}), { status: 200, body: {} }, 'no name changes nothing');
  t.equal((await call('GET', '/devices/PHONE')).body.display_name, 'Old phone');

  for (const [method, payload] of [['GET', undefined], ['PUT', { display_name: 'x' }]] as const) {
    const res = await call(method, '/devices/NOSUCH', payload);
    t.equal(res.status, 404, `${method} unknown device`);
    t.equal(res.body.errcode, 'M_NOT_FOUND');
  }
  const bob = await registerUser(app, 'bob', 'pw');
  t.equal((await client(app, bob.access_token)('GET', '/devices/PHONE')).body.errcode, 'M_NOT_FOUND', "another user's device is not found");
  t.equal((await call('PUT', '/devices/PHONE', { display_name: 'x'.repeat(101) })).body.errcode, 'M_TOO_LARGE');
  t.equal((await call('PUT', '/devices/PHONE', { display_name: 5 })).body.errcode, 'M_BAD_JSON');
  t.equal(phone.status, 200);
});

t.test('DELETE /devices/{id}: the UIA 401, a wrong password, then the device and its token are gone', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'secret');
  const phone = await login(app, 'alice', 'secret', { device_id: 'PHONE' });
  const call = client(app, alice.access_token);

  // No body at all: the first step of user-interactive auth.
  const bare = await app.inject({ method: 'DELETE', url: `${V3}/devices/PHONE`, headers: bearer(alice.access_token) });
  t.equal(bare.statusCode, 401);
  const challenge = bare.json();
  t.same(challenge.flows, [{ stages: ['m.login.password'] }]);
  t.type(challenge.session, 'string');
  t.notOk('errcode' in challenge);

  const wrong = await call('DELETE', '/devices/PHONE', { auth: passwordAuth('alice', 'nope', challenge.session) });
  t.equal(wrong.status, 401);
  t.match(wrong.body, { errcode: 'M_FORBIDDEN', session: challenge.session, flows: [{ stages: ['m.login.password'] }] });
  const otherUser = await call('DELETE', '/devices/PHONE', { auth: passwordAuth('bob', 'secret', challenge.session) });
  t.match(otherUser.body, { errcode: 'M_FORBIDDEN' }, 'the password must be the caller\'s own');
  t.equal((await whoami(app, phone.body.access_token)).status, 200, 'nothing is deleted yet');

  const done = await call('DELETE', '/devices/PHONE', { auth: passwordAuth('@alice:hearth.test', 'secret', challenge.session) });
  t.same(done, { status: 200, body: {} });
  const after = await whoami(app, phone.body.access_token);
  t.equal(after.status, 401);
  t.equal(after.body.errcode, 'M_UNKNOWN_TOKEN');
  t.equal((await call('GET', '/devices/PHONE')).status, 404);
  t.equal((await whoami(app, alice.access_token)).status, 200, 'the caller stays logged in');

  const unknown = await call('DELETE', '/devices/NOSUCH', {});
  t.equal(unknown.status, 404);
  t.equal(unknown.body.errcode, 'M_NOT_FOUND');
});

t.test('a UIA session confirmed for one device cannot delete another', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'pw');
  await login(app, 'alice', 'pw', { device_id: 'ONE' });
  const two = await login(app, 'alice', 'pw', { device_id: 'TWO' });
  const call = client(app, alice.access_token);
  const done = await call('DELETE', '/devices/ONE', { auth: passwordAuth('alice', 'pw') });
  t.equal(done.status, 200, 'a stage without a session succeeds at once');
  const first = await call('DELETE', '/devices/TWO', {});
  const reuse = await call('DELETE', '/devices/TWO', { auth: { session: 'not-a-session' } });
  t.equal(reuse.body.errcode, 'M_UNKNOWN');
  t.equal(first.status, 401);
  t.equal((await whoami(app, two.body.access_token)).status, 200);
});

t.test('POST /delete_devices deletes the listed devices behind the password; unknown ids are ignored', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'pw');
  const one = await login(app, 'alice', 'pw', { device_id: 'ONE' });
  const two = await login(app, 'alice', 'pw', { device_id: 'TWO' });
  const three = await login(app, 'alice', 'pw', { device_id: 'THREE' });
  const call = client(app, alice.access_token);

  const challenge = await call('POST', '/delete_devices', { devices: ['ONE', 'TWO', 'NOSUCH'] });
  t.equal(challenge.status, 401);
  t.same(challenge.body.flows, [{ stages: ['m.login.password'] }]);
  const done = await call('POST', '/delete_devices', { devices: ['ONE', 'TWO', 'NOSUCH'], auth: passwordAuth('alice', 'pw', challenge.body.session) });
  t.same(done, { status: 200, body: {} });
  t.equal((await whoami(app, one.body.access_token)).body.errcode, 'M_UNKNOWN_TOKEN');
  t.equal((await whoami(app, two.body.access_token)).body.errcode, 'M_UNKNOWN_TOKEN');
  t.equal((await whoami(app, three.body.access_token)).status, 200);
  const left = ((await call('GET', '/devices')).body.devices as Array<{ device_id: string }>).map((d) => d.device_id).sort();
  t.same(left, [alice.device_id, 'THREE'].sort());

  const replay = await call('POST', '/delete_devices', { devices: ['THREE'], auth: { session: challenge.body.session } });
  t.equal(replay.body.errcode, 'M_FORBIDDEN', 'a session confirmed for other devices cannot delete this one');
  t.equal((await call('POST', '/delete_devices', { auth: {} })).body.errcode, 'M_BAD_JSON', 'devices is required');
});

t.test('POST /logout/all: every token and device is gone', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'pw');
  const phone = await login(app, 'alice', 'pw');
  t.same(await client(app, phone.body.access_token)('POST', '/logout/all', {}), { status: 200, body: {} });
  for (const token of [alice.access_token, phone.body.access_token]) {
    t.equal((await whoami(app, token)).body.errcode, 'M_UNKNOWN_TOKEN');
  }
  const again = await login(app, 'alice', 'pw');
  const devices = (await client(app, again.body.access_token)('GET', '/devices')).body.devices as unknown[];
  t.equal(devices.length, 1, 'only the new login\'s device exists');
});

t.test('POST /account/password: the old password stops working and other devices are logged out', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'old-pw');
  const phone = await login(app, 'alice', 'old-pw');
  const call = client(app, alice.access_token);

  const challenge = await call('POST', '/account/password', { new_password: 'new-pw' });
  t.equal(challenge.status, 401);
  t.same(challenge.body.flows, [{ stages: ['m.login.password'] }]);
  const wrong = await call('POST', '/account/password', { new_password: 'new-pw', auth: passwordAuth('alice', 'guess', challenge.body.session) });
  t.equal(wrong.body.errcode, 'M_FORBIDDEN');
  t.equal((await login(app, 'alice', 'old-pw')).status, 200, 'a failed attempt changes nothing');

  const done = await call('POST', '/account/password', { new_password: 'new-pw', auth: passwordAuth('alice', 'old-pw', challenge.body.session) });
  t.same(done, { status: 200, body: {} });
  t.equal((await login(app, 'alice', 'old-pw')).body.errcode, 'M_FORBIDDEN', 'the old password fails');
  const fresh = await login(app, 'alice', 'new-pw');
  t.equal(fresh.status, 200, 'the new password works');
  t.equal((await whoami(app, phone.body.access_token)).body.errcode, 'M_UNKNOWN_TOKEN', 'other devices are logged out');
  t.equal((await whoami(app, alice.access_token)).status, 200, 'the device that asked stays logged in');

  const kept = await client(app, fresh.body.access_token)('POST', '/account/password', {
    new_password: 'third-pw',
    logout_devices: false,
    auth: passwordAuth('alice', 'new-pw'),
  });
  t.equal(kept.status, 200);
  t.equal((await whoami(app, alice.access_token)).status, 200, 'logout_devices: false keeps the other devices');

  t.equal((await call('POST', '/account/password', {})).body.errcode, 'M_BAD_JSON', 'new_password is required');
  t.equal((await call('POST', '/account/password', { new_password: '' })).body.errcode, 'M_MISSING_PARAM');
});

t.test('POST /account/deactivate: no more login, tokens gone, profile cleared, rooms left', async (t) => {
  const { app } = await accountsApp(t);
  const alice = await registerUser(app, 'alice', 'pw');
  const bob = await registerUser(app, 'bob', 'pw');
  const asAlice = client(app, alice.access_token);
  const asBob = client(app, bob.access_token);
  t.equal((await asAlice('PUT', '/profile/@alice:hearth.test/displayname', { displayname: 'Alice A.' })).status, 200);

  const joined = (await asBob('POST', '/createRoom', { preset: 'public_chat' })).body.room_id as string;
  t.equal((await asAlice('POST', `/rooms/${encodeURIComponent(joined)}/join`, {})).status, 200);
  // Another create event than the first room's (the clock stands still, and v12 room ids hash it).
  const invited = (await asBob('POST', '/createRoom', { preset: 'private_chat', invite: ['@alice:hearth.test'], creation_content: { 'm.federate': false } })).body.room_id as string;

  const challenge = await asAlice('POST', '/account/deactivate', {});
  t.equal(challenge.status, 401);
  t.same(challenge.body.flows, [{ stages: ['m.login.password'] }]);
  const done = await asAlice('POST', '/account/deactivate', { auth: passwordAuth('alice', 'pw', challenge.body.session) });
  t.same(done, { status: 200, body: { id_server_unbind_result: 'no-support' } });

  t.equal((await whoami(app, alice.access_token)).body.errcode, 'M_UNKNOWN_TOKEN');
  const again = await login(app, 'alice', 'pw');
  t.equal(again.status, 403);
  t.equal(again.body.errcode, 'M_USER_DEACTIVATED');
  const profile = await app.inject({ method: 'GET', url: `${V3}/profile/@alice:hearth.test` });
  t.same(profile.json(), {}, 'display name and avatar are cleared');

  const members = await asBob('GET', `/rooms/${encodeURIComponent(joined)}/joined_members`);
  t.same(Object.keys(members.body.joined as object), ['@bob:hearth.test'], 'alice left the room she was in');
  const state = await asBob('GET', `/rooms/${encodeURIComponent(invited)}/state/m.room.member/${encodeURIComponent('@alice:hearth.test')}`);
  t.equal(state.body.membership, 'leave', 'her invite was rejected');

  const available = await app.inject({ method: 'GET', url: `${V3}/register/available?username=alice` });
  t.equal(available.json().errcode, 'M_USER_IN_USE', 'the user id is never handed out again');
});
