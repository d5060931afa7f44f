import t from 'tap';
import { registerUser } from '../../helpers/app.js';
import { testClient } from '../../helpers/client.js';
import { startTestServer } from '../../helpers/server.js';
import { createMutualRooms } from '../../../src/rooms/index.js';

/** GET /_matrix/client/v1/mutual_rooms (1.19): the rooms both users are joined to, a batch at a time. */

const MUTUAL = '/_matrix/client/v1/mutual_rooms';

t.test('the rooms two users share, and what is refused', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const alice = testClient(server.app, await registerUser(server.app, 'alice', 'alice password'));
  const bob = testClient(server.app, await registerUser(server.app, 'bob', 'bob password'));
  const shared = await alice.createRoom({ preset: 'public_chat' });
  await bob.post(`/join/${encodeURIComponent(shared)}`);
  await alice.createRoom({ preset: 'public_chat' });
  const invitedOnly = await alice.createRoom({ preset: 'private_chat', invite: [bob.user] });
  t.ok(invitedOnly);

  t.same((await alice.get(`${MUTUAL}?user_id=${encodeURIComponent(bob.user)}`)).body, { joined: [shared], count: 1 }, 'joined by both; an invite does not count');
  t.same((await bob.get(`${MUTUAL}?user_id=${encodeURIComponent(alice.user)}`)).body, { joined: [shared], count: 1 });
  t.same((await alice.get(`${MUTUAL}?user_id=${encodeURIComponent('@nobody:hearth.test')}`)).body, { joined: [], count: 0 }, 'an unknown user shares nothing');
  t.match(await alice.get(MUTUAL), { status: 400, body: { errcode: 'M_MISSING_PARAM' } });
  t.match(await alice.get(`${MUTUAL}?user_id=${encodeURIComponent(alice.user)}`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } }, 'not with oneself');
  t.match(await alice.get(`${MUTUAL}?user_id=bob`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  t.match(await alice.get(`${MUTUAL}?user_id=${encodeURIComponent(bob.user)}&from=garbage`), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  t.match(await testClient(server.app, null).get(`${MUTUAL}?user_id=${encodeURIComponent(bob.user)}`), { status: 401 });
});

t.test('batches', async (t) => {
  const rooms = ['!c:x', '!a:x', '!b:x', '!d:x', '!e:x'];
  const mutual = createMutualRooms({
    store: { roomsWithMembership: async (userId) => (userId === '@me:x' ? rooms : rooms.filter((id) => id !== '!d:x')) },
    batchSize: 2,
  });
  const first = await mutual.mutualRooms('@me:x', '@you:x', undefined);
  t.same(first, { joined: ['!a:x', '!b:x'], count: 4, next_batch: first.next_batch });
  const second = await mutual.mutualRooms('@me:x', '@you:x', first.next_batch);
  t.same(second.joined, ['!c:x', '!e:x']);
  t.equal(second.next_batch, undefined, 'no more');
});
