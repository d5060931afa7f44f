import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '../../../src/platform/clock.js';
import { parseUserId } from '../../../src/protocol/index.js';
import { accountsApp } from '../../helpers/app.js';
import { TEST_SHARED_SECRET } from '../../helpers/accounts.js';
import { NONCE_LIFETIME_MS, sharedSecretMac } from '../../../src/users/index.js';

const URL = '/_synapse/admin/v1/register';

async function nonce(t: Test, app: FastifyInstance): Promise<string> {
  const res = await app.inject({ method: 'GET', url: URL });
  t.equal(res.statusCode, 200);
  return res.json().nonce;
}

function body(nonceValue: string, username: string, password: string, admin: boolean, secret = TEST_SHARED_SECRET) {
  return { nonce: nonceValue, username, password, admin, mac: sharedSecretMac(secret, { nonce: nonceValue, username, password, admin, userType: null }) };
}

t.test('the right mac registers the user, who can then use the token and log in', async (t) => {
  const { app, store } = await accountsApp(t, { enableRegistration: false });
  const res = await app.inject({ method: 'POST', url: URL, payload: body(await nonce(t, app), 'admin', 'pw', true) });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { user_id: '@admin:hearth.test', access_token: String, device_id: String, home_server: 'hearth.test' });
  t.equal((await store.user(parseUserId('@admin:hearth.test')))?.admin, true, 'the admin flag is kept');
  const whoami = await app.inject({ method: 'GET', url: '/_matrix/client/v3/account/whoami', headers: { authorization: `Bearer ${res.json().access_token}` } });
  t.equal(whoami.json().user_id, '@admin:hearth.test');
  const login = await app.inject({ method: 'POST', url: '/_matrix/client/v3/login', payload: { type: 'm.login.password', user: 'admin', password: 'pw' } });
  t.equal(login.statusCode, 200, 'works though open registration is off');
});

t.test("the mac is what Synapse's register_new_matrix_user computes (Python hmac over NUL-joined fields)", async (t) => {
  // hmac.new(b"secret", b"abc\x00bob\x00pw\x00notadmin", hashlib.sha1).hexdigest()
  t.equal(sharedSecretMac('secret', { nonce: 'abc', username: 'bob', password: 'pw', admin: false, userType: null }), '8ea9b87daa4e529ce4a0832f09be19bbe837a0af');
});

t.test('a wrong mac is 403 and spends the nonce; a reused nonce is refused', async (t) => {
  const { app } = await accountsApp(t);
  const n = await nonce(t, app);
  const wrong = await app.inject({ method: 'POST', url: URL, payload: body(n, 'mallory', 'pw', true, 'guessed secret') });
  t.equal(wrong.statusCode, 403);
  t.same(wrong.json(), { errcode: 'M_FORBIDDEN', error: 'HMAC incorrect' });
  const retry = await app.inject({ method: 'POST', url: URL, payload: body(n, 'mallory', 'pw', true) });
  t.equal(retry.statusCode, 400, 'the nonce was spent by the failed attempt');
  t.equal(retry.json().errcode, 'M_UNKNOWN');

  const m = await nonce(t, app);
  t.equal((await app.inject({ method: 'POST', url: URL, payload: body(m, 'oscar', 'pw', false) })).statusCode, 200);
  const reused = await app.inject({ method: 'POST', url: URL, payload: body(m, 'oscar2', 'pw', false) });
  t.equal(reused.statusCode, 400);
  t.match(reused.json(), { errcode: 'M_UNKNOWN', error: /nonce/ });
});

t.test('an expired nonce is refused', async (t) => {
  const clock = fixedClock(1_700_000_000_000);
  const { app } = await accountsApp(t, { clock });
  const n = await nonce(t, app);
  clock.advance(NONCE_LIFETIME_MS + 1);
  const res = await app.inject({ method: 'POST', url: URL, payload: body(n, 'late', 'pw', false) });
  t.equal(res.statusCode, 400);
});

t.test('a taken username is M_USER_IN_USE; a bad one M_INVALID_USERNAME; missing fields M_BAD_JSON', async (t) => {
  const { app } = await accountsApp(t);
  t.equal((await app.inject({ method: 'POST', url: URL, payload: body(await nonce(t, app), 'pat', 'pw', false) })).statusCode, 200);
  const taken = await app.inject({ method: 'POST', url: URL, payload: body(await nonce(t, app), 'pat', 'pw', false) });
  t.equal(taken.json().errcode, 'M_USER_IN_USE');
  const bad = await app.inject({ method: 'POST', url: URL, payload: body(await nonce(t, app), 'has space', 'pw', false) });
  t.equal(bad.json().errcode, 'M_INVALID_USERNAME');
  const missing = await app.inject({ method: 'POST', url: URL, payload: { nonce: 'x', username: 'y' } });
  t.equal(missing.json().errcode, 'M_BAD_JSON');
});

t.test('without a configured secret both GET and POST are refused', async (t) => {
  const { app } = await accountsApp(t, { sharedSecret: null });
  const get = await app.inject({ method: 'GET', url: URL });
  t.equal(get.statusCode, 403);
  t.equal(get.json().errcode, 'M_FORBIDDEN');
  const post = await app.inject({ method: 'POST', url: URL, payload: body('n', 'quinn', 'pw', false) });
  t.equal(post.statusCode, 403);
});
