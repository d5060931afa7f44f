import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { testClient, type TestClient } from '../../helpers/client.js';
import { eachEngine } from '../../helpers/database.js';
import { fixedClock } from '../../../src/platform/clock.js';

/** POST /login/get_token and m.login.token (login_via_existing_session), through the real app. */

const GET_TOKEN = '/_matrix/client/v1/login/get_token';
const password = (session?: string) => ({
  type: 'm.login.password',
  identifier: { type: 'm.id.user', user: 'alice' },
  password: 'pw',
  ...(session === undefined ? {} : { session }),
});

/** The full UIA round: a bare request for the session, then the password. */
async function loginToken(alice: TestClient): Promise<string> {
  const first = await alice.post(GET_TOKEN, {});
  const res = await alice.post(GET_TOKEN, { auth: password(first.body.session as string) });
  return res.body.login_token as string;
}

t.test('off by default, as in Synapse: no endpoint, no flow, no capability', async (t) => {
  await eachEngine(t, 'login tokens off', async (t, db) => {
    const { app } = await appOn(t, db);
    const alice = testClient(app, await registerUser(app, 'alice', 'pw'));
    const anonymous = testClient(app, null);
    t.same((await anonymous.get('/login')).body, { flows: [{ type: 'm.login.password' }] });
    const getToken = await alice.post(GET_TOKEN, { auth: password() });
    t.equal(getToken.status, 404);
    t.equal(getToken.body.errcode, 'M_UNRECOGNIZED');
    t.same((await alice.get('/capabilities')).body.capabilities['m.get_login_token'], { enabled: false });
    const login = await anonymous.post('/login', { type: 'm.login.token', token: 'anything' });
    t.equal(login.body.errcode, 'M_UNKNOWN', 'm.login.token is an unknown login type');
  });
});

t.test('a logged-in user confirms with the password and gets a token that logs in one more device', async (t) => {
  await eachEngine(t, 'login tokens', async (t, db) => {
    const { app } = await appOn(t, db, { loginTokenLifetimeMs: 120_000 });
    const alice = testClient(app, await registerUser(app, 'alice', 'pw'));
    const anonymous = testClient(app, null);

    t.same((await anonymous.get('/login')).body, {
      flows: [{ type: 'm.login.password' }, { type: 'm.login.token', get_login_token: true }],
    }, 'GET /login offers m.login.token with get_login_token');
    t.same((await alice.get('/capabilities')).body.capabilities['m.get_login_token'], { enabled: true });

    const first = await alice.post(GET_TOKEN, {});
    t.equal(first.status, 401, 'user-interactive auth first');
    t.same(first.body.flows, [{ stages: ['m.login.password'] }]);
    const wrong = await alice.post(GET_TOKEN, { auth: { ...password(first.body.session), password: 'nope' } });
    t.equal(wrong.status, 401);
    t.equal(wrong.body.errcode, 'M_FORBIDDEN', 'a wrong password is refused');
    const issued = await alice.post(GET_TOKEN, { auth: password(first.body.session) });
    t.equal(issued.status, 200);
    t.match(issued.body, { login_token: String, expires_in_ms: 120_000 });
    const replay = await alice.post(GET_TOKEN, { auth: { session: first.body.session } });
    t.not(replay.status, 200, 'a completed session does not give a second token: the password is asked each time');

    const stored = await db.sql<{ token_hash: string }[]>`select token_hash from login_tokens`;
    t.equal(stored.length, 1);
    t.not(stored[0]?.token_hash, issued.body.login_token, 'only a hash is stored');

    const login = await anonymous.post('/login', { type: 'm.login.token', token: issued.body.login_token, initial_device_display_name: 'Phone' });
    t.equal(login.status, 200);
    t.match(login.body, { user_id: alice.user, access_token: String, device_id: String });
    t.not(login.body.device_id, alice.device, 'a new device');
    const phone = testClient(app, login.body);
    t.same((await phone.get('/account/whoami')).body, { user_id: alice.user, device_id: login.body.device_id, is_guest: false });

    const again = await anonymous.post('/login', { type: 'm.login.token', token: issued.body.login_token });
    t.equal(again.status, 403);
    t.equal(again.body.errcode, 'M_FORBIDDEN', 'a token works once');
    t.equal((await anonymous.post('/login', { type: 'm.login.token', token: 'never-issued' })).body.errcode, 'M_FORBIDDEN');
    t.equal((await anonymous.post('/login', { type: 'm.login.token' })).body.errcode, 'M_MISSING_PARAM');
    t.equal((await anonymous.post('/login', { type: 'm.login.token', token: 5 })).body.errcode, 'M_BAD_JSON');
  });
});

t.test('a login token expires; guests cannot ask for one; a deactivated account\'s token is dead', async (t) => {
  const clock = fixedClock(1_700_000_000_000);
  await eachEngine(t, 'login token limits', async (t, db) => {
    const { app } = await appOn(t, db, { clock, loginTokenLifetimeMs: 120_000, allowGuestAccess: true });
    const alice = testClient(app, await registerUser(app, 'alice', 'pw'));
    const anonymous = testClient(app, null);

    const late = await loginToken(alice);
    clock.advance(120_000);
    const expired = await anonymous.post('/login', { type: 'm.login.token', token: late });
    t.equal(expired.status, 403);
    t.equal(expired.body.errcode, 'M_FORBIDDEN', 'refused once its two minutes are over');

    const guest = testClient(app, (await anonymous.post('/register?kind=guest', {})).body);
    const fromGuest = await guest.post(GET_TOKEN, {});
    t.equal(fromGuest.status, 403);
    t.equal(fromGuest.body.errcode, 'M_GUEST_ACCESS_FORBIDDEN');

    const orphan = await loginToken(alice);
    const first = await alice.post('/account/deactivate', {});
    await alice.post('/account/deactivate', { auth: password(first.body.session) });
    const afterDeactivation = await anonymous.post('/login', { type: 'm.login.token', token: orphan });
    t.equal(afterDeactivation.body.errcode, 'M_FORBIDDEN', 'a deactivated account cannot be logged into with a token');
  });
});
