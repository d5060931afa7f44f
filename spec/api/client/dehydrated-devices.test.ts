import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { deviceKeys } from '../../helpers/e2ee.js';
import { clientOf as baseClientOf } from '../../helpers/ephemeral.js';
import { encodeBase64, signJson, signingKeyFromSeed } from '../../../src/crypto/index.js';

/** MSC3814 dehydrated devices through the real app, on both engines. */

const PREFIX = '/_matrix/client/unstable/org.matrix.msc3814.v1';
const DEVICE_DATA = { algorithm: 'org.matrix.msc3814.v1.olm', device_pickle: 'ZW5jcnlwdGVkIHBpY2tsZQ' };
// Clients name a dehydrated device by its curve25519 key in unpadded base64: '+' and '/' included.
const D1 = 'wJ3y+pKq/dehydrated1';
const D2 = 'hT0a+Zx/dehydrated2';

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** The ephemeral helpers' client, with the dehydrated-device calls. */
function clientOf(app: FastifyInstance, session: { user_id: string; access_token: string; device_id: string }) {
  const base = baseClientOf(app, session);
  const { call } = base;
  return {
    ...base,
    dehydrated: (method: Method, payload?: unknown) => call(method, `${PREFIX}/dehydrated_device`, payload),
    events: (deviceId: string, payload: unknown = {}, query = '') =>
      call('POST', `${PREFIX}/dehydrated_device/${encodeURIComponent(deviceId)}/events${query}`, payload),
  };
}

type Client = ReturnType<typeof clientOf>;
type Response = Awaited<ReturnType<Client['call']>>;

const otk = (key: string) => ({ key, signatures: {} });

/**
 * A dehydrated device's keys as matrix-rust-sdk makes them: self-signed, `dehydrated: true` among the
 * signed fields, under an id with base64's '+' and '/' (which spec/helpers/e2ee.ts's key versions cannot hold).
 */
function dehydratedKeys(userId: string, deviceId: string, seedByte: number) {
  const seed = new Uint8Array(32).fill(seedByte);
  const key = { ...signingKeyFromSeed('dehydrated', seed), keyId: `ed25519:${deviceId}` };
  return signJson({
    user_id: userId,
    device_id: deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${deviceId}`]: encodeBase64(new Uint8Array(32).fill(seedByte + 100)), [`ed25519:${deviceId}`]: encodeBase64(key.publicKey) },
    dehydrated: true,
  }, userId, key);
}

/** A PUT /dehydrated_device body with real signed device keys, one one-time key and a fallback key. */
function upload(userId: string, deviceId: string, seed: number, extra: Record<string, unknown> = {}) {
  return {
    device_id: deviceId,
    device_data: DEVICE_DATA,
    initial_device_display_name: 'Backup device',
    device_keys: dehydratedKeys(userId, deviceId, seed),
    one_time_keys: { [`signed_curve25519:${deviceId}-otk`]: otk(`otk-${seed}`) },
    fallback_keys: { [`signed_curve25519:${deviceId}-fb`]: { ...otk(`fb-${seed}`), fallback: true } },
    ...extra,
  };
}

async function queryKeys(client: Client, userId: string): Promise<Record<string, Record<string, unknown>>> {
  const res = await client.call('POST', '/keys/query', { device_keys: { [userId]: [] } });
  return (res.body.device_keys as Record<string, Record<string, Record<string, unknown>>>)[userId] ?? {};
}

async function deviceIds(client: Client): Promise<string[]> {
  const res = await client.call('GET', '/devices');
  return (res.body.devices as Array<{ device_id: string }>).map((device) => device.device_id).sort();
}

let txn = 0;
async function sendToDevice(from: Client, userId: string, deviceId: string, body: string): Promise<void> {
  const res = await from.call('PUT', `/sendToDevice/m.room_key_test/t${++txn}`, { messages: { [userId]: { [deviceId]: { body } } } });
  if (res.status !== 200) throw new Error(`sendToDevice failed: ${JSON.stringify(res.body)}`);
}

const bodies = (res: Response) => (res.body.events as Array<{ content: { body: string } }>).map((event) => event.content.body);

async function users(app: FastifyInstance) {
  return { alice: clientOf(app, await registerUser(app, 'alice')), bob: clientOf(app, await registerUser(app, 'bob')) };
}

void eachEngine(t, 'a dehydrated device is stored, read, replaced and deleted, its keys published and claimable', async (t, db) => {
  const { app } = await appOn(t, db);
  const { alice, bob } = await users(app);

  const versions = await app.inject({ method: 'GET', url: '/_matrix/client/versions' });
  t.equal((versions.json() as { unstable_features: Record<string, boolean> }).unstable_features['org.matrix.msc3814'], true, '/versions advertises it');

  const none = await alice.dehydrated('GET');
  t.equal(none.status, 404);
  t.equal(none.body.errcode, 'M_NOT_FOUND', 'no dehydrated device yet');
  t.equal((await alice.dehydrated('DELETE')).body.errcode, 'M_NOT_FOUND', 'nothing to delete');

  const body = upload(alice.userId, D1, 11);
  const put = await alice.dehydrated('PUT', body);
  t.same(put, { status: 200, body: { device_id: D1 } });
  t.same(await alice.dehydrated('GET'), { status: 200, body: { device_id: D1, device_data: DEVICE_DATA } }, 'the device data as uploaded');

  t.same(await queryKeys(bob, alice.userId), { [D1]: { ...body.device_keys, unsigned: { device_display_name: 'Backup device' } } },
    'others see its keys exactly as signed');
  t.same(await deviceIds(alice), [D1, alice.deviceId].sort(), 'it is one of the devices GET /devices lists (as Synapse does)');

  const claim = () => bob.call('POST', '/keys/claim', { one_time_keys: { [alice.userId]: { [D1]: 'signed_curve25519' } } });
  const claimed = (res: Response) => (res.body.one_time_keys as Record<string, Record<string, unknown>>)[alice.userId]?.[D1];
  t.same(claimed(await claim()), { [`signed_curve25519:${D1}-otk`]: otk('otk-11') }, 'its one-time key is claimable');
  t.same(claimed(await claim()), { [`signed_curve25519:${D1}-fb`]: { ...otk('fb-11'), fallback: true } }, 'then its fallback key');

  await sendToDevice(bob, alice.userId, D1, 'for the first device');
  const replaced = await alice.dehydrated('PUT', upload(alice.userId, D2, 12));
  t.same(replaced.body, { device_id: D2 });
  t.same((await alice.dehydrated('GET')).body, { device_id: D2, device_data: DEVICE_DATA }, 'the new one replaced it');
  t.same(Object.keys(await queryKeys(bob, alice.userId)), [D2], "the old one's keys are gone");
  t.same(await deviceIds(alice), [D2, alice.deviceId].sort(), 'and so is the old device');
  t.same(claimed(await claim()), undefined, 'nothing left to claim for it');

  await sendToDevice(bob, alice.userId, D2, 'queued');
  t.same(bodies(await alice.events(D2)), ['queued']);
  await alice.dehydrated('PUT', upload(alice.userId, D2, 13));
  t.same(bodies(await alice.events(D2)), [], 'uploading again under the same id starts afresh: the queued messages went with the old one');

  t.same(await alice.dehydrated('DELETE'), { status: 200, body: { device_id: D2 } });
  t.equal((await alice.dehydrated('GET')).body.errcode, 'M_NOT_FOUND', 'deleted');
  t.same(await queryKeys(bob, alice.userId), {}, 'with its keys');
  t.same(await deviceIds(alice), [alice.deviceId]);
  t.equal((await alice.dehydrated('DELETE')).status, 404, 'deleting twice finds nothing');
});

void eachEngine(t, 'to-device messages wait for the dehydrated device and are read in pages, as often as asked', async (t, db) => {
  const { app } = await appOn(t, db);
  const { alice, bob } = await users(app);
  await alice.dehydrated('PUT', upload(alice.userId, D1, 21));

  await sendToDevice(bob, alice.userId, D1, 'one');
  await sendToDevice(bob, alice.userId, '*', 'two');
  await sendToDevice(bob, alice.userId, alice.deviceId, 'not for the dehydrated device');
  await sendToDevice(bob, alice.userId, D1, 'three');

  const first = await alice.events(D1, {}, '?limit=2');
  t.equal(first.status, 200);
  t.same(bodies(first), ['one', 'two'], "oldest first, '*' included: the dehydrated device is one of alice's devices");
  t.match(first.body.events, [{ type: 'm.room_key_test', sender: bob.userId }, { type: 'm.room_key_test', sender: bob.userId }]);
  t.type(first.body.next_batch, 'string');
  const second = await alice.events(D1, { next_batch: first.body.next_batch }, '?limit=2');
  t.same(bodies(second), ['three'], 'the next page');
  const end = await alice.events(D1, { next_batch: second.body.next_batch }, '?limit=2');
  t.same(end.body, { events: [], next_batch: second.body.next_batch }, 'after the last page: no events, and still a next_batch (MSC3814)');

  t.same(bodies(await alice.events(D1)), ['one', 'two', 'three'], 'paging deleted nothing: an interrupted rehydration can start over');

  const get = (query: string) => alice.call('GET', `${PREFIX}/dehydrated_device/${encodeURIComponent(D1)}/events${query}`);
  const page = await get('?limit=2');
  t.same(bodies(page), ['one', 'two']);
  const last = await get(`?limit=2&from=${String(page.body.next_batch)}`);
  t.same(bodies(last), ['three']);
  t.notOk('next_batch' in last.body, 'the GET form leaves next_batch out when nothing follows');

  const sync = await alice.call('GET', '/sync?timeout=0');
  const toDevice = (sync.body.to_device as { events: Array<{ content: { body: string } }> }).events.map((event) => event.content.body);
  t.same(toDevice, ['two', 'not for the dehydrated device'], "alice's own device gets its own messages, not the dehydrated device's");

  const bad = await alice.events(D1, { next_batch: 'not-a-token' });
  t.equal(bad.status, 400);
  t.equal(bad.body.errcode, 'M_INVALID_PARAM', 'a made-up next_batch is refused');

  const other = await alice.events(alice.deviceId);
  t.equal(other.status, 403);
  t.equal(other.body.errcode, 'M_FORBIDDEN', 'only the current dehydrated device');
  const notHers = await bob.events(D1);
  t.equal(notHers.status, 404);
  t.equal(notHers.body.errcode, 'M_NOT_FOUND', 'bob has no dehydrated device: he reads no one else’s');
  await bob.dehydrated('PUT', upload(bob.userId, D2, 22));
  t.equal((await bob.events(D1)).body.errcode, 'M_FORBIDDEN', "and with one of his own, still not alice's");
  t.same(bodies(await bob.events(D2)), [], 'his own is empty');
});

void eachEngine(t, 'bad uploads are refused with the errcode that says why, and change nothing', async (t, db) => {
  const { app } = await appOn(t, db);
  const { alice, bob } = await users(app);
  await alice.dehydrated('PUT', upload(alice.userId, D1, 31));
  const before = { device: (await alice.dehydrated('GET')).body, keys: await queryKeys(bob, alice.userId), devices: await deviceIds(alice) };
  const unchanged = async (what: string) => {
    t.same((await alice.dehydrated('GET')).body, before.device, `${what}: the dehydrated device is still the old one`);
    t.same(await queryKeys(bob, alice.userId), before.keys, `${what}: its keys are untouched`);
    t.same(await deviceIds(alice), before.devices, `${what}: no device came or went`);
  };

  const good = upload(alice.userId, D2, 32);
  const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a wrong signature', { ...good, device_keys: { ...good.device_keys, algorithms: ['m.olm.v1.curve25519-aes-sha2'] } }, 'M_INVALID_SIGNATURE', /signed by the device's own key/],
    ["another user's keys", { ...good, device_keys: dehydratedKeys(bob.userId, D2, 32) }, 'M_INVALID_PARAM', /user_id must be your user id/],
    ["another device's keys", { ...good, device_keys: deviceKeys(alice.userId, 'OTHER', 32).json }, 'M_INVALID_PARAM', /must be the dehydrated device's id/],
    ['no device keys', { device_id: D2, device_data: DEVICE_DATA }, 'M_BAD_JSON', /device_keys/],
    ['device data without its algorithm', { ...good, device_data: { device_pickle: 'x' } }, 'M_BAD_JSON', /device_data\.algorithm/],
    ['an empty device id', { ...good, device_id: '' }, 'M_INVALID_PARAM', /device ID is empty/],
    ['a logged-in device\'s id', { ...upload(alice.userId, alice.deviceId, 33), device_keys: deviceKeys(alice.userId, alice.deviceId, 33).json }, 'M_INVALID_PARAM', /already one of your devices/],
    ['two fallback keys of one algorithm', { ...good, fallback_keys: { 'signed_curve25519:a': otk('a'), 'signed_curve25519:b': otk('b') } }, 'M_INVALID_PARAM', /one key per algorithm/],
    ['a malformed one-time key name', { ...good, one_time_keys: { nocolon: otk('x') } }, 'M_INVALID_PARAM', /<algorithm>:<key id>/],
  ];
  for (const [what, payload, errcode, message] of refusals) {
    const res = await alice.dehydrated('PUT', payload);
    t.equal(res.status, 400, what);
    t.equal(res.body.errcode, errcode, what);
    t.match(res.body.error, message, `${what}: the message says what is wrong`);
    await unchanged(what);
  }
  t.same(await queryKeys(bob, alice.userId), before.keys, "the logged-in device's keys were not replaced by the refused upload either");
});

void eachEngine(t, 'no one logs in to the dehydrated device; deleting it as a device removes it as dehydrated too', async (t, db) => {
  const { app } = await appOn(t, db);
  const { alice, bob } = await users(app);
  await alice.dehydrated('PUT', upload(alice.userId, D1, 41));
  await sendToDevice(bob, alice.userId, D1, 'kept');
  const login = (deviceId: string) => app.inject({
    method: 'POST',
    url: '/_matrix/client/v3/login',
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw', device_id: deviceId },
  });

  const refused = await login(D1);
  t.equal(refused.statusCode, 400);
  t.equal(refused.json().errcode, 'M_INVALID_PARAM');
  t.match(refused.json().error, /is your dehydrated device/, 'the login is refused, saying why');
  t.equal((await alice.dehydrated('GET')).body.device_id, D1, 'the dehydrated device is untouched');
  t.same(bodies(await alice.events(D1)), ['kept'], 'its messages are still waiting');
  t.same(Object.keys(await queryKeys(bob, alice.userId)), [D1], 'and its keys are still published');
  t.equal((await login('LAPTOP')).statusCode, 200, 'another device id logs in as usual');

  const first = await alice.call('DELETE', `/devices/${encodeURIComponent(D1)}`, {});
  t.equal(first.status, 401, 'deleting a device asks for the password');
  const deleted = await alice.call('DELETE', `/devices/${encodeURIComponent(D1)}`, {
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw', session: first.body.session },
  });
  t.equal(deleted.status, 200);
  t.equal((await alice.dehydrated('GET')).body.errcode, 'M_NOT_FOUND', 'a dehydrated device deleted through /devices is gone as such');
  t.equal((await login(D1)).statusCode, 200, 'and its id is free again');
});
