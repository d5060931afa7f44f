import t from 'tap';
import type { RemoteDeviceList } from '../../src/e2ee/index.js';
import { createRemoteDeviceListStore } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';
import { LOCAL, remoteMembership, roomWorld } from '../helpers/rooms.js';

const alice = '@alice:hearth.test';
const carol = '@carol:hearth.test';
const rob = '@rob:remote.test';
const stranger = '@stranger:remote.test';

const list: RemoteDeviceList = {
  streamId: 4,
  knownIds: [3, 4],
  devices: { PHONE: { keys: { user_id: rob, device_id: 'PHONE' }, displayName: 'Phone' }, TABLET: { keys: {} } },
  master: { user_id: rob, usage: ['master'] },
};

t.test('kept remote device lists', async (t) => {
  await eachEngine(t, 'are kept and read back whole, stale or not', async (t, db) => {
    const world = roomWorld(t, db);
    const store = createRemoteDeviceListStore(db.sql);
    const { roomId } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    await remoteMembership(world, roomId, rob);

    t.same(await store.remoteDeviceLists([rob, stranger], LOCAL), new Map([[rob, { shared: true }], [stranger, { shared: false }]]), 'nothing kept yet');
    await store.putFetched(rob, list, 1_000);
    t.same((await store.remoteDeviceLists([rob], LOCAL)).get(rob), { shared: true, kept: { list, stale: false, continuous: true } });

    await store.markStale(rob);
    const updated = { ...list, streamId: 5, knownIds: [3, 4, 5], devices: { TABLET: { keys: {} } } };
    await store.putUpdated(rob, updated, 2_000);
    t.same((await store.remoteDeviceLists([rob], LOCAL)).get(rob)?.kept, { list: updated, stale: true, continuous: true }, 'an applied update keeps the mark');
    await store.putFetched(rob, list, 3_000);
    t.equal((await store.remoteDeviceLists([rob], LOCAL)).get(rob)?.kept?.stale, false, 'a fetch clears it');

    await store.forget(rob);
    t.same((await store.remoteDeviceLists([rob], LOCAL)).get(rob), { shared: true });
  });

  await eachEngine(t, 'know whether a local user has shared a room with the user since the list was fetched', async (t, db) => {
    const world = roomWorld(t, db);
    const store = createRemoteDeviceListStore(db.sql);
    const { roomId } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
    await remoteMembership(world, roomId, rob);
    await store.putFetched(rob, list, 1_000);
    const row = async () => (await store.remoteDeviceLists([rob], LOCAL)).get(rob);

    await world.rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'hi' } });
    t.match(await row(), { shared: true, kept: { continuous: true } }, 'later events change nothing');

    await world.rooms.join(roomId, carol);
    t.match(await row(), { shared: true, kept: { continuous: true } }, 'alice was there all along');

    await world.rooms.leave(roomId, alice);
    await world.rooms.leave(roomId, carol);
    t.match(await row(), { shared: false }, 'no local user left in the room');
    await world.rooms.join(roomId, carol);
    t.match(await row(), { shared: true, kept: { continuous: false } }, 'shared again, after a break: updates may have been missed');
    await store.putFetched(rob, list, 2_000);
    t.match(await row(), { shared: true, kept: { continuous: true } }, 'fetched again');

    await remoteMembership(world, roomId, rob, 'leave', 1_700_000_200_000);
    t.match(await row(), { shared: false }, 'rob left');
    await remoteMembership(world, roomId, rob, 'join', 1_700_000_300_000);
    t.match(await row(), { shared: true, kept: { continuous: false } }, 'rob is back: his server did not tell us of changes meanwhile');
  });
});
