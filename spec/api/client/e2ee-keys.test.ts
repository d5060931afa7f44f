import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { clientOf } from '../../helpers/ephemeral.js';
import { deviceKeys } from '../../helpers/e2ee.js';
import { signJson } from '../../../src/crypto/index.js';

type Client = ReturnType<typeof clientOf>;

async function login(app: FastifyInstance, user: string, deviceId: string): Promise<Client> {
  const res = await app.inject({
    method: 'POST',
    url: '/_matrix/client/v3/login',
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'pw', device_id: deviceId },
  });
  return clientOf(app, res.json() as { user_id: string; access_token: string; device_id: string });
}

async function sync(client: Client, since?: string) {
  const res = await client.call('GET', `/sync?timeout=0${since === undefined ? '' : `&since=${since}`}`);
  if (res.status !== 200) throw new Error(`sync failed: ${JSON.stringify(res.body)}`);
  return res.body as {
    next_batch: string;
    device_lists: { changed: string[]; left: string[] };
    device_one_time_keys_count?: Record<string, number>;
    device_unused_fallback_key_types?: string[];
  };
}

const otk = (key: string) => ({ key, signatures: {} });

void eachEngine(t, 'a device publishes its keys; others query them; a bad signature or another user is refused and changes nothing', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const { json } = deviceKeys(alice.userId, alice.deviceId, 1);

  const tampered = { ...json, algorithms: ['m.olm.v1.curve25519-aes-sha2'] };
  const refused = await alice.call('POST', '/keys/upload', { device_keys: tampered, one_time_keys: { 'signed_curve25519:A': otk('a') } });
  t.equal(refused.status, 400);
  t.equal(refused.body.errcode, 'M_INVALID_SIGNATURE', 'device keys must be signed by the device itself');

  const notMine = await alice.call('POST', '/keys/upload', { device_keys: deviceKeys(bob.userId, bob.deviceId, 2).json });
  t.equal(notMine.status, 400);
  t.equal(notMine.body.errcode, 'M_INVALID_PARAM', "a user cannot upload another user's device keys");

  const missing = await alice.call('POST', '/keys/upload', { device_keys: { user_id: alice.userId, device_id: alice.deviceId } });
  t.equal(missing.body.errcode, 'M_BAD_JSON', 'algorithms, keys and signatures are required');

  const empty = await bob.call('POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
  t.same(empty.body.device_keys, { [alice.userId]: {} }, 'the refused uploads stored nothing');
  t.equal((await sync(alice)).device_one_time_keys_count?.signed_curve25519, 0, 'not even the one-time key');

  const uploaded = await alice.call('POST', '/keys/upload', {
    device_keys: json,
    one_time_keys: { 'signed_curve25519:A': otk('a'), 'signed_curve25519:B': otk('b') },
    fallback_keys: { 'signed_curve25519:F': { ...otk('f'), fallback: true } },
  });
  t.equal(uploaded.status, 200);
  t.same(uploaded.body, { one_time_key_counts: { signed_curve25519: 2 } });

  await alice.call('PUT', `/devices/${alice.deviceId}`, { display_name: "Alice's phone" });
  const queried = await bob.call('POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
  t.equal(queried.status, 200);
  t.same((queried.body.device_keys as Record<string, unknown>)[alice.userId], {
    [alice.deviceId]: { ...json, unsigned: { device_display_name: "Alice's phone" } },
  }, 'the keys as signed, with the device name');
  const specific = await bob.call('POST', '/keys/query', { device_keys: { [alice.userId]: ['NOSUCHDEVICE'] } });
  t.same(specific.body.device_keys, { [alice.userId]: {} }, 'only the devices asked for');
  const remote = await bob.call('POST', '/keys/query', { device_keys: { '@carol:elsewhere.example': [] } });
  t.same(Object.keys(remote.body.failures as object), ['elsewhere.example'], 'a remote server is listed as a failure, not silently empty');

  t.equal((await alice.call('POST', '/keys/upload', { one_time_keys: { 'signed_curve25519:A': otk('a') } })).status, 200, 'the same key again is fine');
  const conflict = await alice.call('POST', '/keys/upload', { one_time_keys: { 'signed_curve25519:C': otk('c'), 'signed_curve25519:A': otk('other') } });
  t.equal(conflict.status, 400);
  t.equal(conflict.body.errcode, 'M_INVALID_PARAM', 'a key id reused with other content is refused');
  t.same((await sync(alice)).device_one_time_keys_count, { signed_curve25519: 2 }, '... and nothing of that upload was kept');
});

void eachEngine(t, 'claims hand out each one-time key once, oldest first, then the fallback key until it is replaced', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  await alice.call('POST', '/keys/upload', { one_time_keys: { 'signed_curve25519:first': otk('1') } });
  await alice.call('POST', '/keys/upload', {
    one_time_keys: { 'signed_curve25519:second': otk('2') },
    fallback_keys: { 'signed_curve25519:fb1': { ...otk('f1'), fallback: true } },
  });
  const initial = await sync(alice);
  t.same(initial.device_one_time_keys_count, { signed_curve25519: 2 });
  t.same(initial.device_unused_fallback_key_types, ['signed_curve25519']);

  const claim = () => bob.call('POST', '/keys/claim', { one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } } });
  const keyOf = (res: Awaited<ReturnType<typeof claim>>) => (res.body.one_time_keys as Record<string, Record<string, Record<string, unknown>>>)[alice.userId]?.[alice.deviceId];
  t.same(keyOf(await claim()), { 'signed_curve25519:first': otk('1') }, 'the oldest upload first');
  t.same(keyOf(await claim()), { 'signed_curve25519:second': otk('2') });
  t.same(keyOf(await claim()), { 'signed_curve25519:fb1': { ...otk('f1'), fallback: true } }, 'then the fallback key');
  t.same(keyOf(await claim()), { 'signed_curve25519:fb1': { ...otk('f1'), fallback: true } }, '... again and again');
  const after = await sync(alice, initial.next_batch);
  // Spelled out as 0, not left out: the Rust crypto SDK only tops its keys up when it sees the count.
  t.same(after.device_one_time_keys_count, { signed_curve25519: 0 }, 'no one-time keys left, said as 0');
  t.same(after.device_unused_fallback_key_types, [], 'and the fallback key was used: the device should replace it');

  await alice.call('POST', '/keys/upload', { fallback_keys: { 'signed_curve25519:fb2': { ...otk('f2'), fallback: true } } });
  t.same((await sync(alice, after.next_batch)).device_unused_fallback_key_types, ['signed_curve25519'], 'a new fallback key is unused');
  t.same(keyOf(await claim()), { 'signed_curve25519:fb2': { ...otk('f2'), fallback: true } }, 'and replaces the old one');

  const nothing = await bob.call('POST', '/keys/claim', { one_time_keys: { [alice.userId]: { [alice.deviceId]: 'curve25519' }, '@nobody:hearth.test': { X: 'signed_curve25519' } } });
  t.same(nothing.body, { one_time_keys: {}, failures: {} }, 'no key of that algorithm, no such user: nothing');
});

void eachEngine(t, "device-list changes reach the users who share a room, and /keys/changes tells the same", async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const carol = clientOf(app, await registerUser(app, 'carol'));
  const roomId = await alice.createRoom();
  await bob.join(roomId);
  const start = await sync(alice);

  await bob.call('POST', '/keys/upload', { device_keys: deviceKeys(bob.userId, bob.deviceId, 3).json });
  await carol.call('POST', '/keys/upload', { device_keys: deviceKeys(carol.userId, carol.deviceId, 4).json });
  const first = await sync(alice, start.next_batch);
  t.same(first.device_lists, { changed: [bob.userId], left: [] }, "bob's new keys; carol shares no room with alice");

  await login(app, 'bob', 'BOBLAPTOP');
  const second = await sync(alice, first.next_batch);
  t.same(second.device_lists.changed, [bob.userId], 'a new device of bob is a change');
  t.same((await sync(bob, first.next_batch)).device_lists.changed.includes(bob.userId), true, "bob's other devices hear of it too");

  await carol.join(roomId);
  const third = await sync(alice, second.next_batch);
  t.same(third.device_lists, { changed: [carol.userId], left: [] }, 'carol now shares a room: her devices are news');

  await bob.call('POST', `/rooms/${encodeURIComponent(roomId)}/leave`, {});
  const fourth = await sync(alice, third.next_batch);
  t.same(fourth.device_lists, { changed: [], left: [bob.userId] }, 'bob shares no room any more');

  await bob.call('POST', '/keys/upload', { device_keys: deviceKeys(bob.userId, bob.deviceId, 5).json });
  const fifth = await sync(alice, fourth.next_batch);
  t.same(fifth.device_lists, { changed: [], left: [] }, "bob's changes are no longer alice's business");

  await alice.call('POST', `/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: bob.userId });
  const sixth = await sync(alice, fifth.next_batch);
  t.same(sixth.device_lists, { changed: [bob.userId], left: [] }, 'bob invited back: alice encrypts for invited members, so his devices are news');

  const changes = await alice.call('GET', `/keys/changes?from=${start.next_batch}&to=${fourth.next_batch}`);
  t.equal(changes.status, 200);
  t.same(changes.body, { changed: [carol.userId], left: [bob.userId] }, 'the same answer over the whole range');
  const sinceFourth = await alice.call('GET', `/keys/changes?from=${fourth.next_batch}&to=${fifth.next_batch}`);
  t.same(sinceFourth.body, { changed: [], left: [] }, 'nothing for alice after bob left');
  const bad = await alice.call('GET', '/keys/changes?from=nonsense&to=s1');
  t.equal(bad.body.errcode, 'M_INVALID_PARAM');
});

void eachEngine(t, 'leaving a room and joining it again: its members are news over a range that spans both', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom({ preset: 'public_chat' });
  await bob.join(roomId);
  const start = await sync(alice);

  await alice.call('POST', `/rooms/${encodeURIComponent(roomId)}/leave`, {});
  const away = await sync(alice, start.next_batch);
  t.same(away.device_lists, { changed: [], left: [bob.userId] });
  // While alice is away bob's devices may change (a remote server would not tell hers): she must hear of
  // him when she is back, whatever the range she asks about.
  await alice.join(roomId);
  const back = await sync(alice, away.next_batch);
  t.same(back.device_lists, { changed: [bob.userId], left: [] }, 'sync: bob is news again');

  const whole = await alice.call('GET', `/keys/changes?from=${start.next_batch}&to=${back.next_batch}`);
  t.same(whole.body, { changed: [bob.userId], left: [] }, '/keys/changes across the leave and the rejoin: bob changed');
  const whileAway = await sync(alice, start.next_batch);
  t.same(whileAway.device_lists, { changed: [bob.userId], left: [] }, 'and sync from before the leave says the same');
});

void eachEngine(t, 'a waiting sync wakes when a room-mate changes devices, and deleting a device is a change', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom();
  await bob.join(roomId);
  const laptop = await login(app, 'bob', 'LAPTOP');
  const start = await sync(alice);

  const waiting = alice.call('GET', `/sync?timeout=20000&since=${start.next_batch}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const deleted = await bob.call('POST', '/delete_devices', { devices: [laptop.deviceId] });
  const session = (deleted.body as { session: string }).session;
  t.equal(deleted.status, 401, 'deleting asks for the password');
  t.equal((await bob.call('POST', '/delete_devices', {
    devices: [laptop.deviceId],
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'bob' }, password: 'pw', session },
  })).status, 200);
  const woken = await waiting;
  t.same((woken.body as { device_lists: unknown }).device_lists, { changed: [bob.userId], left: [] }, 'the waiting sync returned with the change');
});

void eachEngine(t, 'signatures of a device key are checked against the stored key', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const { json, key } = deviceKeys(alice.userId, alice.deviceId, 6);
  await alice.call('POST', '/keys/upload', { device_keys: json });
  // Re-signing the same content by the device itself is no self-signing key: refused, listed per key.
  const res = await alice.call('POST', '/keys/signatures/upload', { [alice.userId]: { [alice.deviceId]: signJson(json, alice.userId, key) } });
  t.equal(res.status, 200);
  const failure = (res.body.failures as Record<string, Record<string, { errcode: string }>>)[alice.userId]?.[alice.deviceId];
  t.equal(failure?.errcode, 'M_NOT_FOUND', 'no self-signing key to sign devices with');
});
