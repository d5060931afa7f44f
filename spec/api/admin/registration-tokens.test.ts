import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { accountsApp, registerUser } from '../../helpers/app.js';
import { fixedClock } from '../../../src/platform/clock.js';
import type { Database } from '../../../src/storage/index.js';

/** Registration tokens: Synapse's admin API, the m.login.registration_token stage and /validity. */

const ADMIN = '/_synapse/admin/v1/registration_tokens';
const VALIDITY = '/_matrix/client/v1/register/m.login.registration_token/validity';
const REGISTER = '/_matrix/client/v3/register';

async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, payload?: object) {
  const res = await app.inject({ method, url, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

/** An admin, made by hand as an operator would with shared-secret registration. */
async function admin(app: FastifyInstance, db: Database) {
  const session = await registerUser(app, 'root', 'pw');
  await db.sql`update users set admin = true where user_id = ${session.user_id}`;
  return session.access_token;
}

t.test('the admin API creates, lists, reads, updates and deletes tokens; others are refused', async (t) => {
  const clock = fixedClock(1_700_000_000_000);
  const { app, db } = await accountsApp(t, { clock });
  const root = await admin(app, db);
  const user = await registerUser(app, 'mallory', 'pw');
  t.equal((await call(app, 'GET', ADMIN, user.access_token)).body.errcode, 'M_FORBIDDEN', 'only admins');
  t.equal((await call(app, 'POST', `${ADMIN}/new`, user.access_token, {})).body.errcode, 'M_FORBIDDEN');

  const generated = await call(app, 'POST', `${ADMIN}/new`, root, {});
  t.equal(generated.status, 200);
  t.match(generated.body, { token: /^[A-Za-z0-9._~-]{16}$/, uses_allowed: null, pending: 0, completed: 0, expiry_time: null });
  const short = await call(app, 'POST', `${ADMIN}/new`, root, { length: 5 });
  t.match(short.body.token, /^[A-Za-z0-9._~-]{5}$/);
  const named = await call(app, 'POST', `${ADMIN}/new`, root, { token: 'welcome', uses_allowed: 1, expiry_time: clock.now() + 1000 });
  t.same(named.body, { token: 'welcome', uses_allowed: 1, pending: 0, completed: 0, expiry_time: clock.now() + 1000 });
  t.equal((await call(app, 'POST', `${ADMIN}/new`, root, { token: 'welcome' })).body.errcode, 'M_INVALID_PARAM', 'no duplicates');
  t.equal((await call(app, 'POST', `${ADMIN}/new`, root, { token: 'bad token' })).body.errcode, 'M_INVALID_PARAM');
  t.equal((await call(app, 'POST', `${ADMIN}/new`, root, { expiry_time: 5 })).body.errcode, 'M_INVALID_PARAM', 'no expiry in the past');
  t.equal((await call(app, 'POST', `${ADMIN}/new`, root, { uses_allowed: -1 })).body.errcode, 'M_BAD_JSON');

  t.equal(((await call(app, 'GET', ADMIN, root)).body.registration_tokens as unknown[]).length, 3);
  t.same(await call(app, 'GET', `${ADMIN}/welcome`, root), { status: 200, body: named.body });
  const updated = await call(app, 'PUT', `${ADMIN}/welcome`, root, { uses_allowed: 0 });
  t.same(updated.body, { ...named.body, uses_allowed: 0 }, 'unnamed fields stay');
  const invalid = (await call(app, 'GET', `${ADMIN}?valid=false`, root)).body.registration_tokens as Array<{ token: string }>;
  t.same(invalid.map((x) => x.token), ['welcome'], 'a token with no uses left is invalid');
  t.equal((await call(app, 'PUT', `${ADMIN}/welcome`, root, { uses_allowed: null, expiry_time: null })).body.uses_allowed, null);

  t.same(await call(app, 'DELETE', `${ADMIN}/welcome`, root), { status: 200, body: {} });
  for (const method of ['GET', 'DELETE'] as const) {
    const gone = await call(app, method, `${ADMIN}/welcome`, root);
    t.equal(gone.status, 404, `${method} after delete`);
    t.equal(gone.body.errcode, 'M_NOT_FOUND');
  }
  t.equal((await call(app, 'PUT', `${ADMIN}/nosuch`, root, {})).body.errcode, 'M_NOT_FOUND');
});

t.test('registration_requires_token: register asks for a token, counts its uses, and /validity tells', async (t) => {
  const { app, db } = await accountsApp(t, { registrationRequiresToken: true });
  // The admin registers through the token stage too: make the first token by hand.
  await db.sql`insert into registration_tokens (token, uses_allowed) values ('first', 1)`;
  t.same((await call(app, 'GET', `${VALIDITY}?token=first`)).body, { valid: true });

  const challenge = await call(app, 'POST', REGISTER, undefined, { username: 'alice', password: 'pw' });
  t.equal(challenge.status, 401);
  t.same(challenge.body.flows, [{ stages: ['m.login.registration_token'] }]);
  const session = challenge.body.session;
  const dummy = await call(app, 'POST', REGISTER, undefined, { username: 'alice', password: 'pw', auth: { type: 'm.login.dummy', session } });
  t.equal(dummy.status, 401, 'the dummy stage is not enough');
  const wrong = await call(app, 'POST', REGISTER, undefined, { username: 'alice', password: 'pw', auth: { type: 'm.login.registration_token', token: 'nope', session } });
  t.match(wrong, { status: 401, body: { errcode: 'M_UNAUTHORIZED', session } });

  const done = await call(app, 'POST', REGISTER, undefined, { username: 'alice', password: 'pw', auth: { type: 'm.login.registration_token', token: 'first', session } });
  t.equal(done.status, 200);
  t.equal(done.body.user_id, '@alice:hearth.test');
  const [row] = (await db.sql`select pending, completed from registration_tokens where token = 'first'`) as unknown as [Record<string, number>];
  t.same(row, { pending: 0, completed: 1 });

  t.same((await call(app, 'GET', `${VALIDITY}?token=first`)).body, { valid: false }, 'its one use is spent');
  const spent = await call(app, 'POST', REGISTER, undefined, { username: 'bob', password: 'pw', auth: { type: 'm.login.registration_token', token: 'first' } });
  t.equal(spent.body.errcode, 'M_UNAUTHORIZED');
  t.same((await call(app, 'GET', `${VALIDITY}?token=unknown`)).body, { valid: false });
  t.equal((await call(app, 'GET', `${VALIDITY}?token=${encodeURIComponent('not valid!')}`)).body.errcode, 'M_INVALID_PARAM');
});

t.test('/validity is 403 when the server does not use registration tokens', async (t) => {
  const { app } = await accountsApp(t);
  const res = await call(app, 'GET', `${VALIDITY}?token=x`);
  t.equal(res.status, 403);
  t.equal(res.body.errcode, 'M_FORBIDDEN');
});
