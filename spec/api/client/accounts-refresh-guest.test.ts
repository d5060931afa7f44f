import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { accountsApp, registerUser } from '../../helpers/app.js';
import { fixedClock } from '../../../src/platform/clock.js';

/** Refresh tokens, expiring access tokens, guests and last-seen through the real app. */

const V3 = '/_matrix/client/v3';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const MINUTE = 60_000;

async function post(app: FastifyInstance, path: string, payload: unknown, token?: string) {
  const res = await app.inject({ method: 'POST', url: `${V3}${path}`, payload: payload as object, ...(token ? { headers: bearer(token) } : {}) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

async function whoami(app: FastifyInstance, token: string) {
  const res = await app.inject({ method: 'GET', url: `${V3}/account/whoami`, headers: bearer(token) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

t.test('refresh_token: true gives an expiring access token and a refresh token; without it nothing expires', async (t) => {
  const clock = fixedClock(1_700_000_000_000);
  const { app } = await accountsApp(t, { clock, accessTokenLifetimeMs: 5 * MINUTE });
  await registerUser(app, 'alice', 'pw');
  const plain = await post(app, '/login', { type: 'm.login.password', user: 'alice', password: 'pw' });
  t.notOk('refresh_token' in plain.body);
  t.notOk('expires_in_ms' in plain.body);
  const login = await post(app, '/login', { type: 'm.login.password', user: 'alice', password: 'pw', refresh_token: true });
  t.match(login.body, { access_token: String, refresh_token: String, expires_in_ms: 5 * MINUTE });

  clock.advance(5 * MINUTE);
  const expired = await whoami(app, login.body.access_token as string);
  t.equal(expired.status, 401);
  t.match(expired.body, { errcode: 'M_UNKNOWN_TOKEN', soft_logout: true }, 'an expired token is a soft logout');
  t.equal((await whoami(app, plain.body.access_token as string)).status, 200, 'a token issued without refresh never expires');

  const refreshed = await post(app, '/refresh', { refresh_token: login.body.refresh_token });
  t.equal(refreshed.status, 200);
  t.match(refreshed.body, { access_token: String, refresh_token: String, expires_in_ms: 5 * MINUTE });
  const me = await whoami(app, refreshed.body.access_token as string);
  t.same(me.body, { user_id: '@alice:hearth.test', device_id: login.body.device_id, is_guest: false }, 'the same device');

  const reused = await post(app, '/refresh', { refresh_token: login.body.refresh_token });
  t.equal(reused.status, 401);
  t.equal(reused.body.errcode, 'M_UNKNOWN_TOKEN', 'the old refresh token stops working once the new access token is used');
  t.equal((await post(app, '/refresh', { refresh_token: 'never-issued' })).body.errcode, 'M_UNKNOWN_TOKEN');
  t.equal((await post(app, '/refresh', {})).body.errcode, 'M_BAD_JSON');
});

t.test('a refresh whose reply was lost can be repeated until the new tokens are used', async (t) => {
  const { app } = await accountsApp(t);
  const first = await post(app, '/register', { username: 'bob', password: 'pw', refresh_token: true, auth: { type: 'm.login.dummy' } });
  t.match(first.body, { user_id: '@bob:hearth.test', refresh_token: String, expires_in_ms: Number });
  const lost = await post(app, '/refresh', { refresh_token: first.body.refresh_token });
  const retry = await post(app, '/refresh', { refresh_token: first.body.refresh_token });
  t.equal(retry.status, 200, 'the old refresh token still works: its successor was never used');
  t.equal((await whoami(app, lost.body.access_token as string)).body.errcode, 'M_UNKNOWN_TOKEN', 'the lost reply\'s tokens are replaced');
  t.equal((await whoami(app, first.body.access_token as string)).status, 200, 'the old access token lives until the new one is used');

  const next = await post(app, '/refresh', { refresh_token: retry.body.refresh_token });
  t.equal(next.status, 200, 'the new refresh token works');
  t.equal((await post(app, '/refresh', { refresh_token: first.body.refresh_token })).body.errcode, 'M_UNKNOWN_TOKEN', 'using the successor revokes the old one');
  t.equal((await whoami(app, first.body.access_token as string)).body.errcode, 'M_UNKNOWN_TOKEN');

  await post(app, '/logout', {}, next.body.access_token as string);
  t.equal((await post(app, '/refresh', { refresh_token: next.body.refresh_token })).body.errcode, 'M_UNKNOWN_TOKEN', 'logout ends the refresh tokens too');
});

t.test('guests: off by default; when on, a numeric id with access only to guest endpoints', async (t) => {
  const off = (await accountsApp(t)).app;
  const refused = await post(off, '/register?kind=guest', {});
  t.equal(refused.status, 403);
  t.equal(refused.body.errcode, 'M_GUEST_ACCESS_FORBIDDEN');

  const { app } = await accountsApp(t, { allowGuestAccess: true, enableRegistration: false });
  const guest = await post(app, '/register?kind=guest', { initial_device_display_name: 'Browser' });
  t.equal(guest.status, 200, 'guests do not need open registration');
  t.match(guest.body, { user_id: /^@[0-9]+:hearth\.test$/, access_token: String, device_id: String });
  const second = await post(app, '/register?kind=guest', {});
  t.not(second.body.user_id, guest.body.user_id);
  const token = guest.body.access_token as string;

  t.match((await whoami(app, token)).body, { user_id: guest.body.user_id, is_guest: true });
  const devices = await app.inject({ method: 'GET', url: `${V3}/devices`, headers: bearer(token) });
  t.equal(devices.statusCode, 200, 'guests may list their devices');
  t.equal(devices.json().devices[0].display_name, 'Browser');

  for (const [method, path, payload] of [
    ['POST', '/createRoom', {}],
    ['POST', '/account/password', { new_password: 'x' }],
    ['POST', '/account/deactivate', {}],
    ['POST', '/delete_devices', { devices: [] }],
    ['PUT', `/user/${encodeURIComponent(guest.body.user_id as string)}/account_data/m.x`, {}],
  ] as const) {
    const res = await app.inject({ method, url: `${V3}${path}`, headers: bearer(token), payload });
    t.equal(res.statusCode, 403, `${method} ${path}`);
    t.equal(res.json().errcode, 'M_GUEST_ACCESS_FORBIDDEN');
  }
  const loginAsGuest = await post(app, '/login', { type: 'm.login.password', user: (guest.body.user_id as string), password: '' });
  t.equal(loginAsGuest.body.errcode, 'M_FORBIDDEN', 'guests have no password to log in with');
});

t.test('a device is seen at most once a minute, with the address of the request', async (t) => {
  const clock = fixedClock(1_700_000_000_000);
  const { app } = await accountsApp(t, { clock });
  const alice = await registerUser(app, 'alice', 'pw');
  const device = async () =>
    (await app.inject({ method: 'GET', url: `${V3}/devices/${alice.device_id}`, headers: bearer(alice.access_token) })).json() as Record<string, unknown>;
  await device();
  // The write is not awaited by the request; the next read may race it, so poll briefly.
  let seen = await device();
  for (let i = 0; i < 50 && seen.last_seen_ip === undefined; i++) seen = await device();
  t.match(seen, { last_seen_ts: 1_700_000_000_000, last_seen_ip: '127.0.0.1' });
  clock.advance(30_000);
  await device();
  t.equal((await device()).last_seen_ts, 1_700_000_000_000, 'not rewritten within the minute');
  clock.advance(MINUTE);
  await device();
  let later = await device();
  for (let i = 0; i < 50 && later.last_seen_ts === 1_700_000_000_000; i++) later = await device();
  t.equal(later.last_seen_ts, 1_700_000_000_000 + 90_000, 'rewritten after a minute');
});
