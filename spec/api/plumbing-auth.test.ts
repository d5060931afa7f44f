import t, { type Test } from 'tap';
import { Type } from '@sinclair/typebox';
import { createHttpApp } from '../../src/api/plumbing/http-app.js';
import { route } from '../../src/api/plumbing/route.js';
import type { Authenticator } from '../../src/api/plumbing/auth.js';
import { defineEndpoint } from '../../src/protocol/endpoint.js';
import type { DeviceId, UserId } from '../../src/protocol/index.js';
import { silentLogger } from '../../src/platform/logger.js';

const Who = Type.Object({ user: Type.Union([Type.String(), Type.Null()]) });
const mine = defineEndpoint({ name: 'mine', method: 'GET', path: '/_test/mine', auth: 'user', response: Who });
const maybe = defineEndpoint({ name: 'maybe', method: 'GET', path: '/_test/maybe', auth: 'optional-user', response: Who });
const open = defineEndpoint({ name: 'open', method: 'GET', path: '/_test/open', auth: 'none', response: Who });
const admin = defineEndpoint({ name: 'admin', method: 'GET', path: '/_test/admin', auth: 'admin', response: Who });

const authenticator: Authenticator = async (token) =>
  token === 'good' ? { userId: '@u:hearth.test' as UserId, deviceId: 'D' as DeviceId, isGuest: false } : undefined;

async function testApp(t: Test, withAuthenticator = true) {
  const app = await createHttpApp(
    { log: silentLogger(), maxJsonBodyBytes: 2048, trustProxy: false, authenticator: withAuthenticator ? authenticator : null },
    async (app) => {
      // requester is typed by the auth kind: a Requester on 'user', Requester | null on 'optional-user'.
      route(app, mine, ({ requester }) => ({ user: requester.userId }));
      route(app, maybe, ({ requester }) => ({ user: requester?.userId ?? null }));
      route(app, open, ({ requester }) => ({ user: requester }));
    },
  );
  t.teardown(() => app.close());
  return app;
}

t.test("'user' routes: the token from the header or the query; missing and unknown tokens are 401", async (t) => {
  const app = await testApp(t);
  t.same((await app.inject({ url: '/_test/mine', headers: { authorization: 'Bearer good' } })).json(), { user: '@u:hearth.test' });
  t.same((await app.inject({ url: '/_test/mine', headers: { authorization: 'bearer  good' } })).json(), { user: '@u:hearth.test' });
  t.same((await app.inject({ url: '/_test/mine?access_token=good' })).json(), { user: '@u:hearth.test' });
  const missing = await app.inject({ url: '/_test/mine' });
  t.equal(missing.statusCode, 401);
  t.equal(missing.json().errcode, 'M_MISSING_TOKEN');
  const unknown = await app.inject({ url: '/_test/mine', headers: { authorization: 'Bearer bad' } });
  t.equal(unknown.statusCode, 401);
  t.equal(unknown.json().errcode, 'M_UNKNOWN_TOKEN');
  t.equal((await app.inject({ url: '/_test/mine?access_token=a&access_token=b' })).json().errcode, 'M_MISSING_TOKEN');
});

t.test("'optional-user' routes serve anonymous callers but refuse an unknown token", async (t) => {
  const app = await testApp(t);
  t.same((await app.inject({ url: '/_test/maybe' })).json(), { user: null });
  t.same((await app.inject({ url: '/_test/maybe', headers: { authorization: 'Bearer good' } })).json(), { user: '@u:hearth.test' });
  t.equal((await app.inject({ url: '/_test/maybe?access_token=bad' })).json().errcode, 'M_UNKNOWN_TOKEN');
  t.same((await app.inject({ url: '/_test/open?access_token=bad' })).json(), { user: null }, "'none' routes never look at tokens");
});

t.test('a route whose auth cannot be checked fails at start, never open', async (t) => {
  await t.rejects(
    createHttpApp({ log: silentLogger(), maxJsonBodyBytes: 2048, trustProxy: false }, async (app) => route(app, mine, () => ({ user: null }))),
    /without an authenticator/,
  );
  await t.rejects(
    createHttpApp({ log: silentLogger(), maxJsonBodyBytes: 2048, trustProxy: false, authenticator }, async (app) => route(app, admin, () => ({ user: null }))),
    /'admin' has no check wired/,
  );
});
