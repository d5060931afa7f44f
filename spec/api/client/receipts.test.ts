import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { busRecorder, busSettled, clientOf } from '../../helpers/ephemeral.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { RECEIPTS_CHANNEL } from '../../../src/platform/stream-notices.js';
import { createUserDataStore } from '../../../src/storage/index.js';
import type { UserId } from '../../../src/protocol/index.js';

const NOW = 1_700_000_000_000;
const receiptPath = (roomId: string, type: string, eventId: string) =>
  `/rooms/${encodeURIComponent(roomId)}/receipt/${type}/${encodeURIComponent(eventId)}`;
const markersPath = (roomId: string) => `/rooms/${encodeURIComponent(roomId)}/read_markers`;

async function world(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1]) {
  const clock = fixedClock(NOW);
  const { app, ephemeral } = await appOn(t, db, { clock });
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom();
  await bob.join(roomId);
  const first = await alice.send(roomId, 'one');
  const second = await alice.send(roomId, 'two');
  return { app, ephemeral, alice, bob, roomId, first, second, clock };
}

void eachEngine(t, 'read receipts reach everyone in the room; private ones only their own user', async (t, db) => {
  const { ephemeral, alice, bob, roomId, first, second } = await world(t, db);
  const heard = busRecorder(ephemeral.bus, [RECEIPTS_CHANNEL]);

  const read = await bob.call('POST', receiptPath(roomId, 'm.read', first), {});
  t.equal(read.status, 200);
  t.same(read.body, {});
  const start = await ephemeral.receipts.receiptsSince(alice.userId, [roomId], 0);
  t.same(start.rooms.get(roomId), { [first]: { 'm.read': { [bob.userId]: { ts: NOW } } } }, "alice sees bob's receipt");

  t.equal((await bob.call('POST', receiptPath(roomId, 'm.read.private', second), {})).status, 200);
  t.same((await ephemeral.receipts.receiptsSince(alice.userId, [roomId], start.position)).rooms, new Map(), "alice never sees bob's private receipt");
  t.same((await ephemeral.receipts.receiptsSince(alice.userId, [roomId], 0)).rooms.get(roomId), start.rooms.get(roomId), 'not even in an initial sync');
  const own = await ephemeral.receipts.receiptsSince(bob.userId, [roomId], start.position);
  t.same(own.rooms.get(roomId), { [second]: { 'm.read.private': { [bob.userId]: { ts: NOW } } } }, 'bob sees his own');

  t.equal((await bob.call('POST', receiptPath(roomId, 'm.read', second), {})).status, 200);
  const moved = await ephemeral.receipts.receiptsSince(alice.userId, [roomId], own.position);
  t.same(moved.rooms.get(roomId), { [second]: { 'm.read': { [bob.userId]: { ts: NOW } } } }, 'a newer receipt replaces the older');
  t.same((await ephemeral.receipts.receiptsSince(alice.userId, [roomId], 0)).rooms.get(roomId), moved.rooms.get(roomId), 'one receipt per user and type');

  t.equal((await bob.call('POST', receiptPath(roomId, 'm.read', first), {})).status, 200);
  t.equal(await ephemeral.receipts.position(), moved.position, 'a receipt for an earlier event changes nothing');

  await busSettled();
  t.same(heard.map(([, message]) => message.rooms), [[roomId], [roomId], [roomId]], 'each change was announced with its room');
  t.equal(heard.at(-1)?.[1].position, String(moved.position));
});

void eachEngine(t, 'threaded receipts are kept apart from unthreaded ones', async (t, db) => {
  const { ephemeral, alice, bob, roomId, first, second } = await world(t, db);
  t.equal((await bob.call('POST', receiptPath(roomId, 'm.read', second), {})).status, 200);
  t.equal((await bob.call('POST', receiptPath(roomId, 'm.read', first), { thread_id: 'main' })).status, 200);
  t.equal((await bob.call('POST', receiptPath(roomId, 'm.read', second), { thread_id: first })).status, 200);
  const all = await ephemeral.receipts.receiptsSince(alice.userId, [roomId], 0);
  t.same(all.rooms.get(roomId), {
    [first]: { 'm.read': { [bob.userId]: { ts: NOW, thread_id: 'main' } } },
    // Two receipts of bob's on one event: the content's shape holds one per user, the later one.
    [second]: { 'm.read': { [bob.userId]: { ts: NOW, thread_id: first } } },
  });
});

void eachEngine(t, 'read markers: m.fully_read goes to room account data, m.read and m.read.private to receipts', async (t, db) => {
  const { ephemeral, alice, bob, roomId, first, second } = await world(t, db);
  const store = createUserDataStore(db.sql);
  const res = await bob.call('POST', markersPath(roomId), { 'm.fully_read': second, 'm.read': first, 'm.read.private': second });
  t.equal(res.status, 200);
  t.same(await store.accountData(bob.userId as UserId, roomId, 'm.fully_read'), { event_id: second });
  const seen = await ephemeral.receipts.receiptsSince(bob.userId, [roomId], 0);
  t.same(seen.rooms.get(roomId), {
    [first]: { 'm.read': { [bob.userId]: { ts: NOW } } },
    [second]: { 'm.read.private': { [bob.userId]: { ts: NOW } } },
  });

  t.equal((await bob.call('POST', markersPath(roomId), { 'm.fully_read': first })).status, 200);
  t.same(await store.accountData(bob.userId as UserId, roomId, 'm.fully_read'), { event_id: second }, 'the marker never moves back');
  t.equal((await alice.call('POST', receiptPath(roomId, 'm.fully_read', first), {})).status, 200, 'the receipt API sets it too');
  t.same(await store.accountData(alice.userId as UserId, roomId, 'm.fully_read'), { event_id: first });
  t.same((await ephemeral.receipts.receiptsSince(alice.userId, [roomId], seen.position)).rooms, new Map(), 'm.fully_read is not a receipt');

  const direct = await bob.call('PUT', `/user/${encodeURIComponent(bob.userId)}/rooms/${encodeURIComponent(roomId)}/account_data/m.fully_read`, { event_id: first });
  t.equal(direct.status, 405, 'clients still cannot set it directly');
});

void eachEngine(t, 'refusals: not joined, unknown events, bad receipt types and thread ids', async (t, db) => {
  const { app, ephemeral, alice, bob, roomId, first } = await world(t, db);
  const carol = clientOf(app, await registerUser(app, 'carol'));
  const outsider = await carol.call('POST', receiptPath(roomId, 'm.read', first), {});
  t.equal(outsider.status, 403);
  t.equal(outsider.body.errcode, 'M_FORBIDDEN');
  t.equal((await carol.call('POST', markersPath(roomId), { 'm.fully_read': first })).body.errcode, 'M_FORBIDDEN');

  const missing = `$${'A'.repeat(43)}`;
  const unknown = await bob.call('POST', receiptPath(roomId, 'm.read', missing), {});
  t.equal(unknown.status, 404);
  t.equal(unknown.body.errcode, 'M_NOT_FOUND');
  const badMarker = await bob.call('POST', markersPath(roomId), { 'm.fully_read': first, 'm.read': missing });
  t.equal(badMarker.body.errcode, 'M_NOT_FOUND');
  const malformed = await bob.call('POST', receiptPath(roomId, 'm.read', '$nope'), {});
  t.equal(malformed.body.errcode, 'M_INVALID_PARAM', 'a malformed event id');
  t.same(await createUserDataStore(db.sql).accountData(bob.userId as UserId, roomId, 'm.fully_read'), undefined, 'a bad request changes nothing');

  const badType = await bob.call('POST', receiptPath(roomId, 'm.seen', first), {});
  t.equal(badType.status, 400);
  t.equal(badType.body.errcode, 'M_INVALID_PARAM');
  const badThread = await bob.call('POST', receiptPath(roomId, 'm.read', first), { thread_id: 'elsewhere' });
  t.equal(badThread.body.errcode, 'M_INVALID_PARAM');
  const emptyThread = await bob.call('POST', receiptPath(roomId, 'm.read', first), { thread_id: '' });
  t.equal(emptyThread.status, 400);
  const threadedMarker = await bob.call('POST', receiptPath(roomId, 'm.fully_read', first), { thread_id: 'main' });
  t.equal(threadedMarker.body.errcode, 'M_INVALID_PARAM');
  const noBody = await alice.call('POST', receiptPath(roomId, 'm.read', first));
  t.equal(noBody.body.errcode, 'M_NOT_JSON');
  t.same((await ephemeral.receipts.receiptsSince(alice.userId, [roomId], 0)).rooms, new Map(), 'no receipt was stored');
});
