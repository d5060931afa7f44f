import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { roomPath, testClient } from '../../helpers/client.js';
import { eachEngine, testDatabase } from '../../helpers/database.js';

/** Guest accounts: upgrading to a full account, and the rooms they may join (spec "Guest Access"). */

const enc = encodeURIComponent;

/** Ticks on every read, so rooms made back to back get different ids. */
function tickingClock() {
  let now = 1_700_000_000_000;
  return { now: () => now++ };
}

const CAN_JOIN = { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } };

t.test('a guest registers with its guest_access_token and becomes a full account with the same user id', async (t) => {
  await eachEngine(t, 'guest upgrade', async (t, db) => {
    const { app } = await appOn(t, db, { allowGuestAccess: true });
    const anonymous = testClient(app, null);
    const alice = testClient(app, await registerUser(app, 'alice'));
    const guestSession = (await anonymous.post('/register?kind=guest', {})).body;
    const guest = testClient(app, guestSession);
    const localpart = guest.user.slice(1, guest.user.indexOf(':'));
    await guest.put(`/profile/${enc(guest.user)}/displayname`, { displayname: 'Visitor' });
    const roomId = await alice.createRoom({ preset: 'public_chat', initial_state: [CAN_JOIN] });
    t.equal((await guest.post(`/rooms/${enc(roomId)}/join`)).status, 200);

    const upgrade = { username: localpart, password: 'pw2', guest_access_token: guestSession.access_token, initial_device_display_name: 'Laptop' };
    const first = await anonymous.post('/register', upgrade);
    t.equal(first.status, 401, 'the usual user-interactive auth');
    const done = await anonymous.post('/register', { ...upgrade, auth: { type: 'm.login.dummy', session: first.body.session } });
    t.equal(done.status, 200);
    t.match(done.body, { user_id: guest.user, access_token: String, device_id: String }, 'the guest keeps its user id');
    const upgraded = testClient(app, done.body);
    t.same((await upgraded.get('/account/whoami')).body, { user_id: guest.user, device_id: done.body.device_id, is_guest: false });
    t.equal((await guest.get('/account/whoami')).body.is_guest, false, 'the guest session is no longer a guest either');
    t.equal((await upgraded.post('/createRoom', {})).status, 200, 'full-account endpoints open up');
    t.equal((await upgraded.get(`/profile/${enc(guest.user)}/displayname`)).body.displayname, 'Visitor', 'the profile stays');
    t.equal((await upgraded.get(`${roomPath(roomId)}/state/m.room.member/${enc(guest.user)}`)).body.membership, 'join', 'and its rooms');
    const login = await anonymous.post('/login', { type: 'm.login.password', user: localpart, password: 'pw2' });
    t.equal(login.status, 200, 'it logs in with its new password');

    const twice = await anonymous.post('/register', { ...upgrade, auth: { type: 'm.login.dummy' } });
    t.equal(twice.status, 403);
    t.equal(twice.body.errcode, 'M_FORBIDDEN', 'a full account\'s token is no guest token');
  });
});

t.test('guest upgrade: username optional but must be the guest\'s own; the token must be a guest\'s', async (t) => {
  const db = await testDatabase(t);
  const { app } = await appOn(t, db, { allowGuestAccess: true });
  const anonymous = testClient(app, null);
  const alice = await registerUser(app, 'alice');
  const guestSession = (await anonymous.post('/register?kind=guest', {})).body;
  const register = (body: Record<string, unknown>) =>
    anonymous.post('/register', { password: 'pw', auth: { type: 'm.login.dummy' }, ...body });

  const renamed = await register({ username: 'someone', guest_access_token: guestSession.access_token });
  t.equal(renamed.status, 403);
  t.equal(renamed.body.errcode, 'M_FORBIDDEN', 'another username is refused');
  t.match(renamed.body.error, /set username to [0-9]+/, 'and the error says which one');
  const bogus = await register({ guest_access_token: 'not-a-token' });
  t.equal(bogus.body.errcode, 'M_FORBIDDEN', 'an unknown token is refused');
  const full = await register({ guest_access_token: alice.access_token });
  t.equal(full.body.errcode, 'M_FORBIDDEN', 'a full account\'s token is refused');
  const noPassword = await anonymous.post('/register', { guest_access_token: guestSession.access_token, auth: { type: 'm.login.dummy' } });
  t.equal(noPassword.body.errcode, 'M_MISSING_PARAM', 'a password is required');

  const kept = await register({ guest_access_token: guestSession.access_token });
  t.equal(kept.status, 200, 'without a username the guest\'s own is used');
  t.equal(kept.body.user_id, guestSession.user_id);

  const closed = (await appOn(t, await testDatabase(t), { allowGuestAccess: true, enableRegistration: false })).app;
  const closedGuest = (await testClient(closed, null).post('/register?kind=guest', {})).body;
  const refused = await testClient(closed, null).post('/register', { password: 'pw', guest_access_token: closedGuest.access_token, auth: { type: 'm.login.dummy' } });
  t.equal(refused.body.errcode, 'M_FORBIDDEN', 'no upgrade where registration is closed');
});

t.test('guests join only rooms whose m.room.guest_access is can_join, and leave when that changes', async (t) => {
  await eachEngine(t, 'guest joins', async (t, db) => {
    const { app } = await appOn(t, db, { allowGuestAccess: true, clock: tickingClock() });
    const anonymous = testClient(app, null);
    const alice = testClient(app, await registerUser(app, 'alice'));
    const bob = testClient(app, await registerUser(app, 'bob'));
    const guest = testClient(app, (await anonymous.post('/register?kind=guest', {})).body);

    const closed = await alice.createRoom({ preset: 'public_chat', room_alias_name: 'closed' });
    for (const path of [`/rooms/${enc(closed)}/join`, `/join/${enc(closed)}`, `/join/${enc('#closed:hearth.test')}`]) {
      const res = await guest.post(path);
      t.equal(res.status, 403, path);
      t.equal(res.body.errcode, 'M_FORBIDDEN', 'a public room without guest access refuses guests');
    }
    t.equal((await bob.post(`/join/${enc(closed)}`)).status, 200, 'full accounts still join');
    const knock = await guest.post(`/knock/${enc(closed)}`);
    t.equal(knock.body.errcode, 'M_GUEST_ACCESS_FORBIDDEN', 'guests cannot knock');
    const read = await guest.get(`${roomPath(closed)}/messages?dir=b`);
    t.equal(read.body.errcode, 'M_FORBIDDEN', 'nor read a room they are not in');

    const invited = await alice.createRoom({ preset: 'private_chat', initial_state: [{ ...CAN_JOIN, content: { guest_access: 'forbidden' } }] });
    t.equal((await alice.post(`${roomPath(invited)}/invite`, { user_id: guest.user })).status, 200);
    t.equal((await guest.post(`/join/${enc(invited)}`)).body.errcode, 'M_FORBIDDEN', 'an invite does not override guest access');

    const open = await alice.createRoom({ preset: 'public_chat', initial_state: [CAN_JOIN] });
    t.equal((await guest.post(`/join/${enc(open)}`)).status, 200, 'a can_join room admits guests');
    await bob.post(`/join/${enc(open)}`);
    t.equal((await guest.send(open, 'hello', 't1')).status, 200);
    t.equal((await guest.get(`${roomPath(open)}/messages?dir=b`)).status, 200);

    const shut = await alice.put(`${roomPath(open)}/state/m.room.guest_access`, { guest_access: 'forbidden' });
    t.equal(shut.status, 200);
    const membership = async (userId: string) =>
      (await alice.get(`${roomPath(open)}/state/m.room.member/${enc(userId)}`)).body.membership;
    t.equal(await membership(guest.user), 'leave', 'the guest is made to leave when guest access ends');
    t.equal(await membership(bob.user), 'join', 'full members stay');
    t.equal((await guest.post(`/join/${enc(open)}`)).body.errcode, 'M_FORBIDDEN', 'and cannot come back');
  });
});
