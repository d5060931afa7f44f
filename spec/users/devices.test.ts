import t from 'tap';
import { eachEngine } from '../helpers/database.js';
import { rejectsWith } from '../helpers/errors.js';
import { accountServices } from '../helpers/accounts.js';
import { AuthRequiredError } from '../../src/protocol/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import type { Requester } from '../../src/users/index.js';

/** Devices, password change, deactivation, refresh tokens and guests, on real storage (both engines). */

type Services = ReturnType<typeof accountServices>;

async function userWithDevices(services: Services, username: string, password: string, devices: readonly string[]) {
  const { accounts } = services;
  const first = await accounts.register({ kind: 'user', username, password, deviceId: devices[0], auth: { type: 'm.login.dummy' } });
  const tokens: Record<string, string> = { [devices[0]!]: first.accessToken! };
  for (const deviceId of devices.slice(1)) {
    tokens[deviceId] = (await accounts.login({ type: 'm.login.password', user: username, password, deviceId })).accessToken;
  }
  const requester = (await accounts.authenticate(tokens[devices[0]!]!))!;
  return { requester, tokens };
}

async function stageError(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof AuthRequiredError)) throw new Error(`expected a UIA 401, got ${String(err)}`);
  return err.toJSON();
}

const password = (user: string, pw: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: pw });

eachEngine(t, 'devices: list, get, rename, delete behind the password', async (t, db) => {
  const services = accountServices(db);
  const { accounts, devices } = services;
  const { requester, tokens } = await userWithDevices(services, 'alice', 'pw', ['LAPTOP', 'PHONE', 'TABLET']);

  t.same((await devices.list(requester)).map((d) => d.deviceId), ['LAPTOP', 'PHONE', 'TABLET']);
  await devices.update(requester, 'PHONE', 'Pocket');
  t.match(await devices.get(requester, 'PHONE'), { deviceId: 'PHONE', displayName: 'Pocket', lastSeenTs: Number, lastSeenIp: null });
  await rejectsWith(t, devices.get(requester, 'NOPE'), 'M_NOT_FOUND');
  await rejectsWith(t, devices.update(requester, 'NOPE', 'x'), 'M_NOT_FOUND');

  const challenge = await stageError(devices.delete(requester, 'PHONE', undefined));
  t.same(challenge.flows, [{ stages: ['m.login.password'] }]);
  const session = challenge.session as string;
  t.match(await stageError(devices.delete(requester, 'PHONE', { ...password('alice', 'bad'), session })), { errcode: 'M_FORBIDDEN' });
  t.match(await stageError(devices.delete(requester, 'PHONE', { type: 'm.login.password', password: 'pw', session })), { errcode: 'M_MISSING_PARAM' });
  // The deprecated top-level `user` of r0 clients works too.
  await devices.delete(requester, 'PHONE', { type: 'm.login.password', user: 'ALICE', password: 'pw', session });
  t.equal(await accounts.authenticate(tokens.PHONE!), undefined, 'the deleted device\'s token stops working');
  t.ok(await accounts.authenticate(tokens.TABLET!));

  await devices.deleteMany(requester, ['TABLET', 'NOPE', 'not a device id \u0000'], password('@alice:hearth.test', 'pw'));
  t.equal(await accounts.authenticate(tokens.TABLET!), undefined);
  t.same((await devices.list(requester)).map((d) => d.deviceId), ['LAPTOP']);
});

eachEngine(t, 'password change: other devices out unless asked not to; the old password fails', async (t, db) => {
  const services = accountServices(db);
  const { accounts, accountManagement } = services;
  const { requester, tokens } = await userWithDevices(services, 'bob', 'one', ['A', 'B']);
  await rejectsWith(t, accountManagement.changePassword(requester, 'two', true, password('bob', 'wrong')), 'M_UNAUTHORIZED');
  await accountManagement.changePassword(requester, 'two', true, password('bob', 'one'));
  t.ok(await accounts.authenticate(tokens.A!));
  t.equal(await accounts.authenticate(tokens.B!), undefined);
  await rejectsWith(t, accounts.login({ type: 'm.login.password', user: 'bob', password: 'one' }), 'M_FORBIDDEN');
  const c = await accounts.login({ type: 'm.login.password', user: 'bob', password: 'two', deviceId: 'C' });
  await accountManagement.changePassword(requester, 'three', false, password('bob', 'two'));
  t.ok(await accounts.authenticate(c.accessToken), 'logout_devices false keeps them');
  await rejectsWith(t, accountManagement.changePassword(requester, '', true, undefined), 'M_MISSING_PARAM');
});

eachEngine(t, 'deactivation closes the account in one go', async (t, db) => {
  const services = accountServices(db);
  const { accounts, accountManagement } = services;
  const { requester, tokens } = await userWithDevices(services, 'carol', 'pw', ['A', 'B']);
  await db.sql`update profiles set avatar_url = 'mxc://hearth.test/abc' where user_id = '@carol:hearth.test'`;
  await accountManagement.deactivate(requester, password('carol', 'pw'));
  t.equal(await accounts.authenticate(tokens.A!), undefined);
  t.equal(await accounts.authenticate(tokens.B!), undefined);
  await rejectsWith(t, accounts.login({ type: 'm.login.password', user: 'carol', password: 'pw' }), 'M_USER_DEACTIVATED');
  const [profile] = await db.sql`select displayname, avatar_url from profiles where user_id = '@carol:hearth.test'`;
  t.same(profile, { displayname: null, avatar_url: null });
  const [{ n }] = (await db.sql`select count(*)::int as n from devices where user_id = '@carol:hearth.test'`) as unknown as [{ n: number }];
  t.equal(n, 0);
});

eachEngine(t, 'refresh tokens rotate as the spec says; expired access tokens are soft logouts', async (t, db) => {
  const clock = fixedClock(1_700_000_000_000);
  const { accounts } = accountServices(db, { clock, accessTokenLifetimeMs: 120_000 });
  const reg = await accounts.register({ kind: 'user', username: 'dan', password: 'pw', refreshToken: true, auth: { type: 'm.login.dummy' } });
  t.equal(reg.expiresInMs, 120_000);
  clock.advance(120_000);
  await rejectsWith(t, accounts.authenticate(reg.accessToken!), 'M_UNKNOWN_TOKEN');
  const err = await accounts.authenticate(reg.accessToken!).catch((e: unknown) => e);
  t.match(err, { extra: { soft_logout: true } });

  const r1 = await accounts.refresh(reg.refreshToken!);
  const r1again = await accounts.refresh(reg.refreshToken!);
  t.equal(await accounts.authenticate(r1.accessToken), undefined, 'a repeated refresh replaces the first answer');
  const me = (await accounts.authenticate(r1again.accessToken)) as Requester;
  t.equal(me.deviceId, reg.deviceId);
  await rejectsWith(t, accounts.refresh(reg.refreshToken!), 'M_UNKNOWN_TOKEN');
  await rejectsWith(t, accounts.refresh(r1.refreshToken!), 'M_UNKNOWN_TOKEN', undefined, 'the replaced answer\'s refresh token is gone');
  const r2 = await accounts.refresh(r1again.refreshToken!);
  await accounts.authenticate(r2.accessToken);
  await rejectsWith(t, accounts.refresh(r1again.refreshToken!), 'M_UNKNOWN_TOKEN', undefined, 'revoked once its successor\'s token is used');
  const stored = await db.sql`select token_hash from refresh_tokens`;
  t.ok(stored.every((row) => /^[0-9a-f]{64}$/.test(String(row.token_hash))), 'refresh tokens are stored hashed');
});

eachEngine(t, 'guests get numeric ids and no password', async (t, db) => {
  const { accounts } = accountServices(db, { allowGuestAccess: true });
  const a = await accounts.register({ kind: 'guest' });
  const b = await accounts.register({ kind: 'guest', username: 'ignored', password: 'ignored' });
  t.match(a.userId, /^@\d+:hearth\.test$/);
  t.not(a.userId, b.userId);
  t.same(await accounts.authenticate(a.accessToken!), { userId: a.userId, deviceId: a.deviceId, isGuest: true });
  const [row] = await db.sql`select password_hash, is_guest from users where user_id = ${a.userId}`;
  t.same(row, { password_hash: null, is_guest: true });
});
