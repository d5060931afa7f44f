import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { busRecorder, busSettled, clientOf } from '../../helpers/ephemeral.js';
import { TO_DEVICE_CHANNEL } from '../../../src/platform/stream-notices.js';
import type { FastifyInstance } from 'fastify';

const sendPath = (type: string, txnId: string) => `/sendToDevice/${type}/${txnId}`;

async function login(app: FastifyInstance, user: string, deviceId: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/_matrix/client/v3/login',
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'pw', device_id: deviceId },
  });
  return res.json() as { user_id: string; access_token: string; device_id: string };
}

void eachEngine(t, 'a message waits for its device until sync acknowledges it, and a retried txn sends nothing twice', async (t, db) => {
  const { app, ephemeral } = await appOn(t, db);
  const heard = busRecorder(ephemeral.bus, [TO_DEVICE_CHANNEL]);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const { toDevice } = ephemeral;

  const body = { messages: { [bob.userId]: { [bob.deviceId]: { secret: 'key-1' } } } };
  const sent = await alice.call('PUT', sendPath('m.room_key_request', 'txn1'), body);
  t.equal(sent.status, 200);
  t.same(sent.body, {});
  const first = await toDevice.toDeviceFor(bob.userId, bob.deviceId, 0, 100);
  t.same(first.events, [{ type: 'm.room_key_request', sender: alice.userId, content: { secret: 'key-1' } }]);
  t.same((await toDevice.toDeviceFor(bob.userId, bob.deviceId, 0, 100)).events, first.events, 'still there until acknowledged');
  t.same((await toDevice.toDeviceFor(alice.userId, alice.deviceId, 0, 100)).events, [], "not in the sender's queue");

  t.equal((await alice.call('PUT', sendPath('m.room_key_request', 'txn1'), body)).status, 200, 'a retry succeeds');
  t.same((await toDevice.toDeviceFor(bob.userId, bob.deviceId, 0, 100)).events, first.events, '... and queues nothing twice');

  await toDevice.deleteUpTo(bob.userId, bob.deviceId, first.position);
  t.same((await toDevice.toDeviceFor(bob.userId, bob.deviceId, 0, 100)).events, [], 'gone once acknowledged');
  t.equal((await alice.call('PUT', sendPath('m.room_key_request', 'txn1'), body)).status, 200);
  t.same((await toDevice.toDeviceFor(bob.userId, bob.deviceId, 0, 100)).events, [], 'a late retry does not bring it back');

  await alice.call('PUT', sendPath('m.room_key_request', 'txn2'), { messages: { [bob.userId]: { [bob.deviceId]: { secret: 'key-2' } } } });
  const next = await toDevice.toDeviceFor(bob.userId, bob.deviceId, first.position, 100);
  t.same(next.events.map((e) => e.content), [{ secret: 'key-2' }], 'a new txn id is a new message');
  t.ok(next.position > first.position);

  await busSettled();
  t.same(heard.map(([, message]) => message), [
    { position: String(first.position), users: [bob.userId] },
    { position: String(next.position), users: [bob.userId] },
  ], 'each new message was announced with its recipient, retries were not');
});

void eachEngine(t, "'*' reaches every device of the user; a named device wins; limits page in order", async (t, db) => {
  const { app, ephemeral } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const phone = await registerUser(app, 'bob');
  const laptop = await login(app, 'bob', 'LAPTOP');
  const { toDevice } = ephemeral;

  await alice.call('PUT', sendPath('m.dummy', 'a'), {
    messages: { [phone.user_id]: { '*': { to: 'all' }, LAPTOP: { to: 'laptop' }, UNKNOWN: { to: 'nobody' } } },
  });
  t.same((await toDevice.toDeviceFor(phone.user_id, phone.device_id, 0, 100)).events.map((e) => e.content), [{ to: 'all' }]);
  t.same((await toDevice.toDeviceFor(laptop.user_id, 'LAPTOP', 0, 100)).events.map((e) => e.content), [{ to: 'laptop' }]);

  for (const n of [1, 2, 3]) {
    await alice.call('PUT', sendPath('m.dummy', `n${n}`), { messages: { [phone.user_id]: { [phone.device_id]: { n } } } });
  }
  const page = await toDevice.toDeviceFor(phone.user_id, phone.device_id, 0, 2);
  t.same(page.events.map((e) => e.content), [{ to: 'all' }, { n: 1 }], 'oldest first, at most the limit');
  await toDevice.deleteUpTo(phone.user_id, phone.device_id, page.position);
  const rest = await toDevice.toDeviceFor(phone.user_id, phone.device_id, page.position, 100);
  t.same(rest.events.map((e) => e.content), [{ n: 2 }, { n: 3 }], 'the next sync continues where the page ended');
  t.equal(rest.position, await toDevice.position());

  // Logging out deletes the device; its queue goes with it.
  const count = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from to_device_messages where device_id = 'LAPTOP'`)[0]?.n;
  t.equal(await count(), 1, 'the laptop has a message waiting');
  await app.inject({ method: 'POST', url: '/_matrix/client/v3/logout', headers: { authorization: `Bearer ${laptop.access_token}` } });
  t.equal(await count(), 0, 'it went with the device');
});

void eachEngine(t, 'remote recipients are skipped; bad input gets spec errcodes', async (t, db) => {
  const { app, ephemeral } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const remote = await alice.call('PUT', sendPath('m.dummy', 'r'), { messages: { '@dave:elsewhere.test': { DEV: { x: 1 } } } });
  t.equal(remote.status, 200, 'accepted; federation will carry it later');
  const badUser = await alice.call('PUT', sendPath('m.dummy', 'b'), { messages: { dave: { DEV: { x: 1 } } } });
  t.equal(badUser.status, 400);
  t.equal(badUser.body.errcode, 'M_INVALID_PARAM');
  const noMessages = await alice.call('PUT', sendPath('m.dummy', 'c'), {});
  t.equal(noMessages.body.errcode, 'M_BAD_JSON');
  const notObject = await alice.call('PUT', sendPath('m.dummy', 'd'), { messages: { [alice.userId]: { DEV: 'text' } } });
  t.equal(notObject.body.errcode, 'M_BAD_JSON');
  t.same((await ephemeral.toDevice.toDeviceFor(alice.userId, alice.deviceId, 0, 100)).events, []);
});
