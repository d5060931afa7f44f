import t, { type Test } from 'tap';
import { accountsApp, registerUser, type AppOptions } from '../helpers/app.js';
import { testClient, roomPath, V3 } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import { fixedClock } from '../../src/platform/clock.js';
import { parseConfig } from '../../src/platform/config/index.js';
import { rateLimitRulesFromConfig, type RateLimitRule } from '../../src/platform/rate-limit.js';

/** Every class at its configured default, with roomy registration so tests can sign up, then the overrides. */
function limits(overrides: Readonly<Record<string, RateLimitRule>>): Record<string, RateLimitRule> {
  const defaults = rateLimitRulesFromConfig(parseConfig('', { source: 'test', baseDir: '/tmp' }).rate_limits) ?? {};
  return { ...defaults, registration: { perSecond: 1, burstCount: 100 }, ...overrides };
}

async function limitedApp(t: Test, overrides: Readonly<Record<string, RateLimitRule>>, options: AppOptions = {}) {
  const clock = fixedClock(1_700_000_000_000);
  const harness = await accountsApp(t, { clock, rateLimits: limits(overrides), ...options });
  return { ...harness, clock };
}

const message = { perSecond: 0.5, burstCount: 3 };

t.test('the message after the burst is 429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After', async (t) => {
  const { app, clock } = await limitedApp(t, { message });
  const session = await registerUser(app, 'alice');
  const alice = testClient(app, session);
  const roomId = await alice.createRoom();
  for (let i = 1; i <= 3; i++) t.equal((await alice.send(roomId, `hi ${i}`, `t${i}`)).status, 200, `message ${i} of the burst`);

  const url = `${V3}${roomPath(roomId)}/send/m.room.message/t4`;
  const refused = await app.inject({ method: 'PUT', url, headers: { authorization: `Bearer ${session.access_token}` }, payload: { msgtype: 'm.text', body: 'one too many' } });
  t.equal(refused.statusCode, 429);
  t.equal(refused.json().errcode, 'M_LIMIT_EXCEEDED');
  t.equal(refused.json().retry_after_ms, 2000, 'one token comes back in 1 / 0.5 s');
  t.equal(refused.headers['retry-after'], '2', 'Retry-After in whole seconds');

  clock.advance(1999);
  t.equal((await alice.send(roomId, 'still too soon', 't5')).status, 429, 'not a millisecond early');
  clock.advance(1);
  t.equal((await alice.send(roomId, 'now', 't6')).status, 200, 'after retry_after_ms the send succeeds');
  t.equal((await alice.put(`${roomPath(roomId)}/state/m.room.topic/`, { topic: 'x' })).status, 429, 'state events count as messages');
});

t.test('another user is not limited by alice', async (t) => {
  const { app } = await limitedApp(t, { message });
  const alice = testClient(app, await registerUser(app, 'alice'));
  const bob = testClient(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  t.equal((await bob.post(`${roomPath(roomId)}/join`)).status, 200);
  for (let i = 1; i <= 5; i++) await alice.send(roomId, `hi ${i}`, `a${i}`);
  t.equal((await alice.send(roomId, 'again', 'a6')).status, 429);
  for (let i = 1; i <= 3; i++) t.equal((await bob.send(roomId, `bob ${i}`, `b${i}`)).status, 200, `bob's message ${i}`);
  t.equal((await bob.send(roomId, 'bob 4', 'b4')).status, 429, 'bob has a burst of his own');
});

t.test('login is limited by client address', async (t) => {
  const { app, clock } = await limitedApp(t, { login: { perSecond: 0.17, burstCount: 2 } });
  await registerUser(app, 'alice', 'secret');
  const login = (remoteAddress: string, password = 'secret') =>
    app.inject({
      method: 'POST',
      url: `${V3}/login`,
      remoteAddress,
      payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password },
    });
  t.equal((await login('10.0.0.1', 'wrong')).statusCode, 403, 'a wrong password counts too');
  t.equal((await login('10.0.0.1')).statusCode, 200);
  const refused = await login('10.0.0.1');
  t.equal(refused.statusCode, 429);
  t.equal(refused.json().errcode, 'M_LIMIT_EXCEEDED');
  t.equal(refused.json().retry_after_ms, 5883);
  t.equal(refused.headers['retry-after'], '6', 'rounded up');
  t.equal((await login('10.0.0.2')).statusCode, 200, 'another address logs in');
  clock.advance(5883);
  t.equal((await login('10.0.0.1')).statusCode, 200, 'the first address may try again after the wait');
});

t.test('registration is limited by client address', async (t) => {
  const { app } = await limitedApp(t, { registration: { perSecond: 0.17, burstCount: 3 } });
  const ask = () => app.inject({ method: 'GET', url: `${V3}/register/available?username=someone`, remoteAddress: '10.0.0.9' });
  for (let i = 1; i <= 3; i++) t.equal((await ask()).statusCode, 200, `check ${i}`);
  t.equal((await ask()).statusCode, 429);
});

t.test('a server admin is never limited', async (t) => {
  const { app, db } = await limitedApp(t, { message });
  const session = await registerUser(app, 'root');
  await db.sql`update users set admin = true where user_id = ${session.user_id}`;
  const root = testClient(app, session);
  const roomId = await root.createRoom();
  for (let i = 1; i <= 8; i++) t.equal((await root.send(roomId, `notice ${i}`, `n${i}`)).status, 200, `admin message ${i}`);
});

t.test('without limits (rate_limits.enabled: false, the test default) nothing is limited', async (t) => {
  t.equal(rateLimitRulesFromConfig(parseConfig('rate_limits: { enabled: false }', { source: 'test', baseDir: '/tmp' }).rate_limits), null);
  const { app } = await accountsApp(t);
  const alice = testClient(app, await registerUser(app, 'alice'));
  const roomId = await alice.createRoom();
  for (let i = 1; i <= 15; i++) t.equal((await alice.send(roomId, `hi ${i}`, `t${i}`)).status, 200, `message ${i}`);
});

t.test('a running server applies rate_limits from its config', async (t) => {
  const server = await startTestServer(t, 'embedded', 'rate_limits: { login: { per_second: 0.001, burst_count: 2 } }');
  const login = () =>
    fetch(`${server.url}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'nobody' }, password: 'x' }),
    });
  t.equal((await login()).status, 403);
  t.equal((await login()).status, 403);
  const refused = await login();
  t.equal(refused.status, 429);
  t.equal(((await refused.json()) as { errcode: string }).errcode, 'M_LIMIT_EXCEEDED');
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with a Retry-After header');
});
