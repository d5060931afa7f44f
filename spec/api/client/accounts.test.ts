import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { accountsApp } from '../../helpers/app.js';

const V3 = '/_matrix/client/v3';

async function registerUser(app: FastifyInstance, username: string, password: string) {
  const first = await app.inject({ method: 'POST', url: `${V3}/register`, payload: { username, password } });
  const res = await app.inject({
    method: 'POST',
    url: `${V3}/register`,
    payload: { username, password, auth: { type: 'm.login.dummy', session: first.json().session } },
  });
  return res.json() as { user_id: string; access_token: string; device_id: string };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('UIA flow: a bare register is a 401 with flows, params and session, and no errcode', async (t) => {
  const { app } = await accountsApp(t);
  const res = await app.inject({ method: 'POST', url: `${V3}/register`, payload: { username: 'alice', password: 'pw' } });
  t.equal(res.statusCode, 401);
  const body = res.json();
  t.same(body.flows, [{ stages: ['m.login.dummy'] }]);
  t.same(body.params, {});
  t.type(body.session, 'string');
  t.notOk('errcode' in body);

  const done = await app.inject({
    method: 'POST',
    url: `${V3}/register`,
    payload: { username: 'alice', password: 'pw', initial_device_display_name: 'Laptop', auth: { type: 'm.login.dummy', session: body.session } },
  });
  t.equal(done.statusCode, 200);
  t.match(done.json(), { user_id: '@alice:hearth.test', access_token: /^[A-Za-z0-9_-]{43}$/, device_id: /^[A-Z]{10}$/ });
});

t.test('register -> whoami -> logout -> the token is rejected', async (t) => {
  const { app } = await accountsApp(t);
  const session = await registerUser(app, 'bob', 'pw');
  const whoami = await app.inject({ method: 'GET', url: `${V3}/account/whoami`, headers: bearer(session.access_token) });
  t.equal(whoami.statusCode, 200);
  t.same(whoami.json(), { user_id: '@bob:hearth.test', device_id: session.device_id, is_guest: false });

  const viaQuery = await app.inject({ method: 'GET', url: `/_matrix/client/r0/account/whoami?access_token=${session.access_token}` });
  t.equal(viaQuery.json().user_id, '@bob:hearth.test', 'the deprecated query parameter and the r0 path work');

  const out = await app.inject({ method: 'POST', url: `${V3}/logout`, headers: bearer(session.access_token), payload: {} });
  t.equal(out.statusCode, 200);
  t.same(out.json(), {});
  const after = await app.inject({ method: 'GET', url: `${V3}/account/whoami`, headers: bearer(session.access_token) });
  t.equal(after.statusCode, 401);
  t.equal(after.json().errcode, 'M_UNKNOWN_TOKEN');
});

t.test('a missing or malformed token is 401 M_MISSING_TOKEN', async (t) => {
  const { app } = await accountsApp(t);
  const none = await app.inject({ method: 'GET', url: `${V3}/account/whoami` });
  t.equal(none.statusCode, 401);
  t.equal(none.json().errcode, 'M_MISSING_TOKEN');
  const basic = await app.inject({ method: 'GET', url: `${V3}/account/whoami`, headers: { authorization: 'Basic Ym9iOnB3' } });
  t.equal(basic.json().errcode, 'M_MISSING_TOKEN');
  const both = await app.inject({ method: 'GET', url: `${V3}/account/whoami?access_token=a`, headers: bearer('b') });
  t.equal(both.json().errcode, 'M_MISSING_TOKEN');
  const badBody = await app.inject({ method: 'POST', url: `${V3}/logout`, payload: '{not json' });
  t.equal(badBody.json().errcode, 'M_MISSING_TOKEN', 'the token is checked before the body is read');
});

t.test('login by localpart and by full id; wrong password is 403 M_FORBIDDEN; logout/all', async (t) => {
  const { app } = await accountsApp(t);
  await registerUser(app, 'carol', 'secret');
  const flows = await app.inject({ method: 'GET', url: `${V3}/login` });
  t.same(flows.json(), { flows: [{ type: 'm.login.password' }] });

  const byLocalpart = await app.inject({
    method: 'POST',
    url: `${V3}/login`,
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: 'secret', device_id: 'PHONE' },
  });
  t.equal(byLocalpart.statusCode, 200);
  t.match(byLocalpart.json(), { user_id: '@carol:hearth.test', device_id: 'PHONE', access_token: String });

  const byId = await app.inject({
    method: 'POST',
    url: `${V3}/login`,
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@carol:hearth.test' }, password: 'secret' },
  });
  t.equal(byId.statusCode, 200);
  t.equal(byId.json().user_id, '@carol:hearth.test');

  const wrong = await app.inject({ method: 'POST', url: `${V3}/login`, payload: { type: 'm.login.password', user: 'carol', password: 'nope' } });
  t.equal(wrong.statusCode, 403);
  t.equal(wrong.json().errcode, 'M_FORBIDDEN');

  const all = await app.inject({ method: 'POST', url: `${V3}/logout/all`, headers: bearer(byId.json().access_token) });
  t.equal(all.statusCode, 200);
  for (const token of [byLocalpart.json().access_token, byId.json().access_token]) {
    const res = await app.inject({ method: 'GET', url: `${V3}/account/whoami`, headers: bearer(token) });
    t.equal(res.json().errcode, 'M_UNKNOWN_TOKEN');
  }
});

t.test('registration disabled is 403 M_FORBIDDEN', async (t) => {
  const { app } = await accountsApp(t, { enableRegistration: false });
  const res = await app.inject({ method: 'POST', url: `${V3}/register`, payload: { username: 'dan', password: 'pw' } });
  t.equal(res.statusCode, 403);
  t.same(res.json(), { errcode: 'M_FORBIDDEN', error: 'Registration is disabled on this server' });
  const available = await app.inject({ method: 'GET', url: `${V3}/register/available?username=dan` });
  t.equal(available.statusCode, 403);
});

t.test('GET /register/available', async (t) => {
  const { app } = await accountsApp(t);
  await registerUser(app, 'erin', 'pw');
  const free = await app.inject({ method: 'GET', url: `${V3}/register/available?username=frank` });
  t.same(free.json(), { available: true });
  const taken = await app.inject({ method: 'GET', url: `${V3}/register/available?username=erin` });
  t.equal(taken.statusCode, 400);
  t.equal(taken.json().errcode, 'M_USER_IN_USE');
  const invalid = await app.inject({ method: 'GET', url: `${V3}/register/available?username=${encodeURIComponent('bad name')}` });
  t.equal(invalid.json().errcode, 'M_INVALID_USERNAME');
  const missing = await app.inject({ method: 'GET', url: `${V3}/register/available` });
  t.equal(missing.json().errcode, 'M_INVALID_PARAM');
});

t.test('inhibit_login answers only the user id', async (t) => {
  const { app } = await accountsApp(t);
  const res = await app.inject({ method: 'POST', url: `${V3}/register`, payload: { username: 'gina', password: 'pw', inhibit_login: true, auth: { type: 'm.login.dummy' } } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { user_id: '@gina:hearth.test' });
});

t.test('bad JSON and missing or mistyped fields have their errcodes', async (t) => {
  const { app } = await accountsApp(t);
  const cases: Array<[string, string, string | object, string]> = [
    ['POST', `${V3}/register`, '{"username": ', 'M_NOT_JSON'],
    ['POST', `${V3}/login`, '{"type": ', 'M_NOT_JSON'],
    ['POST', `${V3}/login`, { user: 'x', password: 'y' }, 'M_BAD_JSON'],
    ['POST', `${V3}/login`, { type: 'm.login.password', user: 'x', password: 5 }, 'M_BAD_JSON'],
    ['POST', `${V3}/login`, { type: 'm.login.password', password: 'y' }, 'M_MISSING_PARAM'],
    ['POST', `${V3}/login`, { type: 'm.login.sso' }, 'M_UNKNOWN'],
    ['POST', `${V3}/register`, { username: 7 }, 'M_BAD_JSON'],
    ['POST', `${V3}/register?kind=robot`, {}, 'M_INVALID_PARAM'],
    ['POST', `${V3}/register?kind=guest`, {}, 'M_GUEST_ACCESS_FORBIDDEN'],
    ['POST', `${V3}/register`, { username: 'hal', auth: { type: 'm.login.dummy' } }, 'M_MISSING_PARAM'],
  ];
  for (const [method, url, payload, errcode] of cases) {
    const res = await app.inject({ method: method as 'POST', url, payload });
    t.equal(res.json().errcode, errcode, `${url} ${JSON.stringify(payload)}`);
    t.ok(res.statusCode >= 400 && res.statusCode < 500);
  }
});
