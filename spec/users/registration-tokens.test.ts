import t from 'tap';
import { eachEngine } from '../helpers/database.js';
import { accountServices } from '../helpers/accounts.js';
import { AuthRequiredError } from '../../src/protocol/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import { UIA_SESSION_LIFETIME_MS } from '../../src/users/index.js';

/** Registration tokens on real storage: uses are counted once per registration, and abandoned ones come back. */

eachEngine(t, 'a token with one use admits one registration; an abandoned session gives the use back', async (t, db) => {
  const clock = fixedClock(1_700_000_000_000);
  const { accounts, store } = accountServices(db, { clock, registrationRequiresToken: true });
  await db.sql`insert into registration_tokens (token, uses_allowed) values ('once', 1)`;
  const pendingAndCompleted = async () => (await db.sql`select pending, completed from registration_tokens where token = 'once'`)[0];

  const first = (await accounts.register({ kind: 'user', username: 'ann', password: 'pw' }).catch((e: unknown) => e)) as AuthRequiredError;
  t.type(first, AuthRequiredError);
  const session = first.flows.session;

  const other = (await accounts.register({ kind: 'user', username: 'bea', password: 'pw' }).catch((e: unknown) => e)) as AuthRequiredError;
  const held = await accounts.register({ kind: 'user', username: 'bea', auth: { type: 'm.login.registration_token', token: 'once', session: other.flows.session } }).catch((e: unknown) => e);
  t.match(held, { errcode: 'M_MISSING_PARAM' }, 'the stage passed, the request then failed for want of a password');
  t.same(await pendingAndCompleted(), { pending: 1, completed: 0 });
  const refused = await accounts.register({ kind: 'user', username: 'ann', password: 'pw', auth: { type: 'm.login.registration_token', token: 'once', session } }).catch((e: unknown) => e);
  t.match((refused as AuthRequiredError).toJSON(), { errcode: 'M_UNAUTHORIZED' }, 'its only use is held by the other registration');

  clock.advance(UIA_SESSION_LIFETIME_MS + 1);
  await store.deleteUiaSessionsBefore(clock.now() - UIA_SESSION_LIFETIME_MS);
  t.same(await pendingAndCompleted(), { pending: 0, completed: 0 }, 'the abandoned registration gives its use back');

  const done = await accounts.register({ kind: 'user', username: 'ann', password: 'pw', auth: { type: 'm.login.registration_token', token: 'once' } });
  t.equal(done.userId, '@ann:hearth.test');
  t.same(await pendingAndCompleted(), { pending: 0, completed: 1 });
});
