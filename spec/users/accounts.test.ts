import t from 'tap';
import { eachEngine } from '../helpers/database.js';
import { rejectsWith } from '../helpers/errors.js';
import { accountServices } from '../helpers/accounts.js';
import { AuthRequiredError } from '../../src/protocol/index.js';
import { UIA_SESSION_LIFETIME_MS } from '../../src/users/index.js';
import { fixedClock } from '../../src/platform/clock.js';

/** Runs the two UIA round trips a client makes; returns the account. */
async function registerWithDummy(accounts: ReturnType<typeof accountServices>['accounts'], request: Record<string, unknown>) {
  const challenge = await accounts.register({ kind: 'user', ...request }).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(challenge instanceof AuthRequiredError)) throw challenge;
  return accounts.register({ kind: 'user', ...request, auth: { type: 'm.login.dummy', session: challenge.flows.session } });
}

eachEngine(t, 'registration asks for the dummy stage, then creates the account and a session', async (t, db) => {
  const { accounts } = accountServices(db);
  const challenge = await accounts.register({ kind: 'user', username: 'alice', password: 'pw' }).catch((err: unknown) => err);
  t.type(challenge, AuthRequiredError);
  const body = (challenge as AuthRequiredError).toJSON();
  t.same(body.flows, [{ stages: ['m.login.dummy'] }]);
  t.same(body.params, {});
  t.type(body.session, 'string');
  t.notOk('errcode' in body, 'a first challenge carries no errcode');

  const session = await accounts.register({
    kind: 'user',
    username: 'Alice',
    password: 'pw',
    initialDeviceDisplayName: 'phone',
    auth: { type: 'm.login.dummy', session: body.session as string },
  });
  t.equal(session.userId, '@alice:hearth.test', 'the username is lowercased');
  t.match(session.deviceId, /^[A-Z]{10}$/);
  t.same(await accounts.authenticate(session.accessToken!), { userId: '@alice:hearth.test', deviceId: session.deviceId, isGuest: false });
  await rejectsWith(t, registerWithDummy(accounts, { username: 'alice', password: 'x' }), 'M_USER_IN_USE');
  await rejectsWith(t, accounts.available('alice'), 'M_USER_IN_USE');
  t.equal(await accounts.available('bob'), true);
});

eachEngine(t, 'a dummy stage without a session succeeds at once; sessions are bound to their operation and expire', async (t, db) => {
  const clock = fixedClock(1_000_000_000_000);
  const { accounts, store } = accountServices(db, { clock });
  const direct = await accounts.register({ kind: 'user', username: 'carol', password: 'pw', auth: { type: 'm.login.dummy' } });
  t.equal(direct.userId, '@carol:hearth.test');

  await rejectsWith(t, accounts.register({ kind: 'user', username: 'dave', password: 'pw', auth: { type: 'm.login.dummy', session: 'nope' } }), 'M_UNKNOWN', /session/);

  await store.createUiaSession({ sessionId: 'other-op', operation: 'DELETE devices', completed: [], createdTs: clock.now() });
  await rejectsWith(t, accounts.register({ kind: 'user', username: 'dave', password: 'pw', auth: { type: 'm.login.dummy', session: 'other-op' } }), 'M_FORBIDDEN');

  const challenge = (await accounts.register({ kind: 'user', username: 'dave', password: 'pw' }).catch((err: unknown) => err)) as AuthRequiredError;
  clock.advance(UIA_SESSION_LIFETIME_MS + 1);
  await rejectsWith(t, accounts.register({ kind: 'user', username: 'dave', password: 'pw', auth: { type: 'm.login.dummy', session: challenge.flows.session } }), 'M_UNKNOWN');
});

eachEngine(t, 'an unknown stage is answered with the flows and an errcode; a session-only retry reports progress', async (t, db) => {
  const { accounts } = accountServices(db);
  const challenge = (await accounts.register({ kind: 'user', username: 'erin', password: 'pw' }).catch((err: unknown) => err)) as AuthRequiredError;
  const session = challenge.flows.session;
  const unknown = (await accounts.register({ kind: 'user', username: 'erin', password: 'pw', auth: { type: 'm.login.foo', session } }).catch((err: unknown) => err)) as AuthRequiredError;
  t.type(unknown, AuthRequiredError);
  t.match(unknown.toJSON(), { errcode: 'M_UNRECOGNIZED', session, flows: [{ stages: ['m.login.dummy'] }] });
  const waiting = (await accounts.register({ kind: 'user', username: 'erin', password: 'pw', auth: { session } }).catch((err: unknown) => err)) as AuthRequiredError;
  t.type(waiting, AuthRequiredError, 'a retry with only the session and nothing completed is asked again');
  const done = await accounts.register({ kind: 'user', username: 'erin', password: 'pw', auth: { type: 'm.login.dummy', session } });
  t.equal(done.userId, '@erin:hearth.test');
});

eachEngine(t, 'registration policy: disabled, guests, bad usernames, missing password, inhibit_login, chosen device', async (t, db) => {
  await rejectsWith(t, accountServices(db, { enableRegistration: false }).accounts.register({ kind: 'user', username: 'x', password: 'pw' }), 'M_FORBIDDEN', /disabled/);
  await rejectsWith(t, accountServices(db, { enableRegistration: false }).accounts.available('x'), 'M_FORBIDDEN', /disabled/);
  const { accounts } = accountServices(db);
  await rejectsWith(t, accounts.register({ kind: 'guest' }), 'M_GUEST_ACCESS_FORBIDDEN', /Guest/);
  for (const username of ['', 'al ice', 'al:ice', '_bridge', '12345', 'x'.repeat(250), 'émile']) {
    await rejectsWith(t, accounts.register({ kind: 'user', username, password: 'pw' }), 'M_INVALID_USERNAME', undefined, JSON.stringify(username));
    await rejectsWith(t, accounts.available(username), 'M_INVALID_USERNAME', undefined, `available ${JSON.stringify(username)}`);
  }
  await rejectsWith(t, registerWithDummy(accounts, { username: 'frank' }), 'M_MISSING_PARAM', /password/);

  const inhibited = await registerWithDummy(accounts, { username: 'grace', password: 'pw', inhibitLogin: true });
  t.same(inhibited, { userId: '@grace:hearth.test' }, 'inhibit_login gives no token and no device');

  const chosen = await registerWithDummy(accounts, { username: 'heidi', password: 'pw', deviceId: 'MYDEVICE' });
  t.equal(chosen.deviceId, 'MYDEVICE');

  const generated = await registerWithDummy(accounts, { password: 'pw' });
  t.match(generated.userId, /^@[a-z0-9]{12}:hearth\.test$/, 'a missing username is generated');
});

eachEngine(t, 'login by localpart, full id and the deprecated user field; wrong password and unknown user look alike', async (t, db) => {
  const { accounts } = accountServices(db);
  await registerWithDummy(accounts, { username: 'ivan', password: 'secret' });
  const byLocalpart = await accounts.login({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'ivan' }, password: 'secret' });
  t.equal(byLocalpart.userId, '@ivan:hearth.test');
  const byId = await accounts.login({ type: 'm.login.password', identifier: { type: 'm.id.user', user: '@Ivan:hearth.test' }, password: 'secret' });
  t.equal(byId.userId, '@ivan:hearth.test');
  const deprecated = await accounts.login({ type: 'm.login.password', user: 'ivan', password: 'secret' });
  t.equal(deprecated.userId, '@ivan:hearth.test');
  t.not(byLocalpart.deviceId, byId.deviceId, 'each login is a new device');

  await rejectsWith(t, accounts.login({ type: 'm.login.password', user: 'ivan', password: 'wrong' }), 'M_FORBIDDEN', 'Invalid username or password');
  await rejectsWith(t, accounts.login({ type: 'm.login.password', user: 'nobody', password: 'secret' }), 'M_FORBIDDEN', 'Invalid username or password');
  await rejectsWith(t, accounts.login({ type: 'm.login.password', user: '@ivan:elsewhere.test', password: 'secret' }), 'M_FORBIDDEN');
  await rejectsWith(t, accounts.login({ type: 'm.login.token', user: 'ivan', password: 'secret' }), 'M_UNKNOWN', /Unknown login type/);
  await rejectsWith(t, accounts.login({ type: 'm.login.password', identifier: { type: 'm.id.phone' }, password: 'secret' }), 'M_UNKNOWN', /identifier/);
  await rejectsWith(t, accounts.login({ type: 'm.login.password', password: 'secret' }), 'M_MISSING_PARAM');
});

eachEngine(t, 'logging in to a known device replaces its token; logout and logout/all revoke', async (t, db) => {
  const { accounts } = accountServices(db);
  const first = (await registerWithDummy(accounts, { username: 'judy', password: 'pw', deviceId: 'LAPTOP' })) as { accessToken: string };
  const again = await accounts.login({ type: 'm.login.password', user: 'judy', password: 'pw', deviceId: 'LAPTOP' });
  t.equal(again.deviceId, 'LAPTOP');
  t.equal(await accounts.authenticate(first.accessToken), undefined, 'the old token of the device stops working');
  const phone = await accounts.login({ type: 'm.login.password', user: 'judy', password: 'pw' });

  const laptop = (await accounts.authenticate(again.accessToken))!;
  await accounts.logout(laptop);
  t.equal(await accounts.authenticate(again.accessToken), undefined);
  t.ok(await accounts.authenticate(phone.accessToken), 'other devices stay logged in');

  const tablet = await accounts.login({ type: 'm.login.password', user: 'judy', password: 'pw' });
  await accounts.logoutAll((await accounts.authenticate(tablet.accessToken))!);
  t.equal(await accounts.authenticate(phone.accessToken), undefined);
  t.equal(await accounts.authenticate(tablet.accessToken), undefined);
  t.equal(await accounts.authenticate('never-issued'), undefined);
});

eachEngine(t, 'tokens and passwords are stored only hashed', async (t, db) => {
  const { accounts } = accountServices(db);
  const session = (await registerWithDummy(accounts, { username: 'ken', password: 'plaintext-pw' })) as { accessToken: string };
  const [user] = await db.sql<{ password_hash: string }[]>`select password_hash from users`;
  t.match(user?.password_hash, /^scrypt\$/);
  const tokens = await db.sql<{ token_hash: string }[]>`select token_hash from access_tokens`;
  t.equal(tokens.length, 1);
  t.match(tokens[0]?.token_hash, /^[0-9a-f]{64}$/);
  t.not(tokens[0]?.token_hash, session.accessToken);
});

eachEngine(t, 'a deactivated account can neither log in nor use its tokens', async (t, db) => {
  const { accounts } = accountServices(db);
  const session = (await registerWithDummy(accounts, { username: 'leo', password: 'pw' })) as { accessToken: string };
  await db.sql`update users set deactivated = true where user_id = '@leo:hearth.test'`;
  t.equal(await accounts.authenticate(session.accessToken), undefined);
  await rejectsWith(t, accounts.login({ type: 'm.login.password', user: 'leo', password: 'pw' }), 'M_USER_DEACTIVATED');
  await rejectsWith(t, accounts.login({ type: 'm.login.password', user: 'leo', password: 'bad' }), 'M_FORBIDDEN', undefined, 'a wrong password does not reveal the deactivation');
  await rejectsWith(t, accounts.available('leo'), 'M_USER_IN_USE', undefined, 'the id is never handed out again');
});
