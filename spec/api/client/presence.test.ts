import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { busRecorder, busSettled, clientOf, ephemeralServices } from '../../helpers/ephemeral.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { PRESENCE_CHANNEL } from '../../../src/platform/stream-notices.js';
import type { DeviceId, UserId } from '../../../src/protocol/index.js';

const NOW = 1_700_000_000_000;
const statusPath = (userId: string) => `/presence/${encodeURIComponent(userId)}/status`;

void eachEngine(t, 'users set their presence and see that of users they share a room with', async (t, db) => {
  const clock = fixedClock(NOW);
  const { app, ephemeral } = await appOn(t, db, { clock });
  const heard = busRecorder(ephemeral.bus, [PRESENCE_CHANNEL]);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));

  t.same((await alice.call('GET', statusPath(alice.userId))).body, { presence: 'offline' }, 'offline until set');
  const put = await alice.call('PUT', statusPath(alice.userId), { presence: 'online', status_msg: 'Lunch soon' });
  t.equal(put.status, 200);
  t.same(put.body, {});
  clock.advance(1234);
  t.same((await alice.call('GET', statusPath(alice.userId))).body,
    { presence: 'online', last_active_ago: 1234, status_msg: 'Lunch soon', currently_active: true });

  const stranger = await bob.call('GET', statusPath(alice.userId));
  t.equal(stranger.status, 403);
  t.equal(stranger.body.errcode, 'M_FORBIDDEN');
  const roomId = await alice.createRoom();
  await bob.join(roomId);
  t.match((await bob.call('GET', statusPath(alice.userId))).body, { presence: 'online', status_msg: 'Lunch soon' }, 'a room in common lets bob see it');

  const since = await ephemeral.presence.presenceSince([alice.userId, bob.userId], 0);
  t.same(since.events, [{
    type: 'm.presence',
    sender: alice.userId,
    content: { presence: 'online', last_active_ago: 1234, status_msg: 'Lunch soon', currently_active: true },
  }]);
  await alice.call('PUT', statusPath(alice.userId), { presence: 'unavailable' });
  const later = await ephemeral.presence.presenceSince([alice.userId], since.position);
  t.same(later.events.map((e) => e.content), [{ presence: 'unavailable', last_active_ago: 0 }], 'status_msg left out clears it');
  t.same((await ephemeral.presence.presenceSince([bob.userId], since.position)).events, [], 'only the users asked about');

  await busSettled();
  t.same(heard.map(([, message]) => message), [
    { position: String(since.position), users: [alice.userId], rooms: [] },
    { position: String(later.position), users: [alice.userId], rooms: [roomId] },
  ], "each change is announced for alice and her rooms (whose members' syncs it wakes)");

  const forBob = await alice.call('PUT', statusPath(bob.userId), { presence: 'offline' });
  t.equal(forBob.status, 403);
  t.equal(forBob.body.errcode, 'M_FORBIDDEN');
  const badState = await alice.call('PUT', statusPath(alice.userId), { presence: 'busy' });
  t.equal(badState.body.errcode, 'M_BAD_JSON');
  t.equal((await alice.call('GET', statusPath('alice'))).body.errcode, 'M_INVALID_PARAM');
});

void eachEngine(t, "sync's set_presence: online marks the user active once, not at every sync", async (t, db) => {
  const clock = fixedClock(NOW);
  const { app, ephemeral } = await appOn(t, db, { clock });
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const { presence } = ephemeral;
  await alice.call('PUT', statusPath(alice.userId), { presence: 'unavailable', status_msg: 'Away' });
  const away = await presence.position();

  await presence.setFromSync(alice.userId, 'online');
  const online = await presence.presenceSince([alice.userId], away);
  t.same(online.events.map((e) => e.content), [{ presence: 'online', last_active_ago: 0, status_msg: 'Away', currently_active: true }],
    'syncing brings the user online and keeps the status message');
  clock.advance(30_000);
  await presence.setFromSync(alice.userId, 'online');
  t.equal(await presence.position(), online.position, 'syncing again while active writes no new position');
  t.match((await alice.call('GET', statusPath(alice.userId))).body, { last_active_ago: 0 }, '... but last active is up to date');
  await presence.setFromSync(alice.userId, 'offline');
  t.equal(await presence.position(), online.position, "set_presence=offline leaves presence alone");

  // Idle past the currently-active window, then back: others see the user become active again.
  clock.advance(6 * 60_000);
  await presence.setFromSync(alice.userId, 'online');
  const back = await presence.presenceSince([alice.userId], online.position);
  t.same(back.events.map((e) => e.content), [{ presence: 'online', last_active_ago: 0, status_msg: 'Away', currently_active: true }],
    'a sync after a long idle writes a new position: the user is currently active again');

  // Another process set the user unavailable (its PUT /presence): a sync here after the interval brings them
  // back online rather than only bumping the time.
  await db.sql`update presence set state = 'unavailable' where user_id = ${alice.userId}`;
  clock.advance(30_000);
  await presence.setFromSync(alice.userId, 'online');
  const again = await presence.presenceSince([alice.userId], back.position);
  t.same(again.events.map((e) => e.content.presence), ['online'], 'presence changed elsewhere is set anew, at a new position');
});

void eachEngine(t, 'presence turned off: the endpoints answer, nothing is stored or sent', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const off = ephemeralServices(t, db, { presenceEnabled: false });
  const requester = { userId: alice.userId as UserId, deviceId: alice.deviceId as DeviceId, isGuest: false };
  await off.presence.setPresence(requester, alice.userId, 'online', 'hi');
  await off.presence.setFromSync(alice.userId, 'online');
  t.same(await off.presence.getPresence(requester, alice.userId), { presence: 'offline' });
  t.same((await off.presence.presenceSince([alice.userId], 0)).events, []);
  await off.presence.setPresence(requester, alice.userId, 'online');
  t.equal(await off.presence.position(), 0);
});
