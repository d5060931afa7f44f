import t from 'tap';
import { registerUser } from '../helpers/app.js';
import { eventually, memberOf, roomPath, testClient } from '../helpers/client.js';
import { startFederatedServer } from '../helpers/federation-pair.js';

/**
 * Guest access across two real Hearths: guests are a local notion, so each server keeps its own guests to
 * the rooms' m.room.guest_access, whichever server the room or the change of setting comes from.
 */

const guestAccess = (value: string) => ({ type: 'm.room.guest_access', state_key: '', content: { guest_access: value } });

t.test('guest access over federation', async (t) => {
  const [a, b] = await Promise.all([startFederatedServer(t, 'embedded', 'allow_guest_access: true'), startFederatedServer(t, 'embedded', 'allow_guest_access: true')]);
  const alice = testClient(a.app, await registerUser(a.app, 'alice'));
  const bob = testClient(b.app, await registerUser(b.app, 'bob'));
  const guestOf = async (server: typeof a) => testClient(server.app, (await testClient(server.app, null).post('/register?kind=guest', {})).body);

  await t.test('a guest of A leaves when a user of B takes guest access away', async (t) => {
    const guest = await guestOf(a);
    const room = await alice.createRoom({
      preset: 'public_chat',
      // Version 10: the creator is listed in the power levels with the user of B beside it.
      room_version: '10',
      initial_state: [guestAccess('can_join')],
      power_level_content_override: { users: { [alice.user]: 100, [bob.user]: 50 } },
    });
    t.equal((await bob.post(`/join/${encodeURIComponent(room)}?server_name=${encodeURIComponent(a.serverName)}`)).status, 200);
    t.equal((await guest.post(`/join/${encodeURIComponent(room)}`)).status, 200, 'the room admits guests');
    const seen = await eventually(async () => ((await memberOf(bob, room, guest.user)) === 'join' ? true : undefined));
    t.ok(seen, 'B sees the guest joined');

    const revoked = await bob.put(`${roomPath(room)}/state/m.room.guest_access`, { guest_access: 'forbidden' });
    t.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const left = await eventually(async () => ((await memberOf(alice, room, guest.user)) === 'leave' ? 'leave' : undefined));
    t.equal(left, 'leave', 'A made its guest leave when the change came over federation');
    t.equal(await eventually(async () => ((await memberOf(bob, room, guest.user)) === 'leave' ? 'leave' : undefined)), 'leave', 'and B hears of the leave');
    t.equal(await memberOf(alice, room, alice.user), 'join', 'full accounts stay');
  });

  await t.test('a guest of B may join a room of A only if it admits guests', async (t) => {
    const guest = await guestOf(b);
    const closed = await alice.createRoom({ preset: 'private_chat', initial_state: [guestAccess('forbidden')] });
    t.equal((await alice.post(`${roomPath(closed)}/invite`, { user_id: guest.user })).status, 200);
    t.ok(await eventually(async () => (await guest.sync()).body.rooms?.invite?.[closed]), 'the invite reached the guest');
    const refused = await guest.post(`/join/${encodeURIComponent(closed)}`);
    t.equal(refused.status, 403, JSON.stringify(refused.body));
    t.equal(refused.body.errcode, 'M_FORBIDDEN');
    t.equal(await memberOf(alice, closed, guest.user), 'invite', 'A refused the guest\'s join: it never came in');

    const open = await alice.createRoom({ preset: 'private_chat', initial_state: [guestAccess('can_join')] });
    t.equal((await alice.post(`${roomPath(open)}/invite`, { user_id: guest.user })).status, 200);
    t.ok(await eventually(async () => (await guest.sync()).body.rooms?.invite?.[open]), 'the invite reached the guest');
    const joined = await guest.post(`/join/${encodeURIComponent(open)}`);
    t.equal(joined.status, 200, JSON.stringify(joined.body));
    t.equal(await memberOf(alice, open, guest.user), 'join', 'a room that admits guests takes the guest\'s join');
  });
});
