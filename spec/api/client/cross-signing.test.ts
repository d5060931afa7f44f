import t from 'tap';
import { appOn, registerUser } from '../../helpers/app.js';
import { eachEngine } from '../../helpers/database.js';
import { clientOf } from '../../helpers/ephemeral.js';
import { crossSigningKey, crossSigningKeys, deviceKeys } from '../../helpers/e2ee.js';
import { signJson } from '../../../src/crypto/index.js';

type Client = ReturnType<typeof clientOf>;
type Json = Record<string, unknown>;

const password = (session: string) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw', session });

async function syncToken(client: Client, since?: string) {
  const res = await client.call('GET', `/sync?timeout=0${since === undefined ? '' : `&since=${since}`}`);
  return res.body as { next_batch: string; device_lists: { changed: string[] } };
}

void eachEngine(t, 'cross-signing keys: the first upload needs no password, replacing them does; bad keys are refused', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const keys = crossSigningKeys(alice.userId, 10);

  const unsigned = await alice.call('POST', '/keys/device_signing/upload', {
    master_key: keys.body.master_key,
    self_signing_key: { ...keys.body.self_signing_key, signatures: {} },
  });
  t.equal(unsigned.status, 400);
  t.equal(unsigned.body.errcode, 'M_INVALID_SIGNATURE', 'the self-signing key must be signed by the master key');

  const orphan = await alice.call('POST', '/keys/device_signing/upload', { self_signing_key: keys.body.self_signing_key });
  t.equal(orphan.body.errcode, 'M_MISSING_PARAM', 'no master key to check it against');

  const wrongUsage = await alice.call('POST', '/keys/device_signing/upload', { master_key: { ...keys.body.master_key, usage: ['self_signing'] } });
  t.equal(wrongUsage.body.errcode, 'M_INVALID_PARAM');

  const notMine = await alice.call('POST', '/keys/device_signing/upload', { master_key: { ...keys.body.master_key, user_id: '@bob:hearth.test' } });
  t.equal(notMine.body.errcode, 'M_INVALID_PARAM');

  const query = async () => (await alice.call('POST', '/keys/query', { device_keys: { [alice.userId]: [] } })).body;
  t.same((await query()).master_keys, {}, 'nothing of the refused uploads was stored');

  const first = await alice.call('POST', '/keys/device_signing/upload', keys.body);
  t.equal(first.status, 200, 'the first keys need no password');
  t.same(first.body, {});
  t.equal((await alice.call('POST', '/keys/device_signing/upload', keys.body)).status, 200, 'the same keys again (a retry) need none either');
  const stored = await query();
  t.same(stored.master_keys, { [alice.userId]: keys.body.master_key });
  t.same(stored.self_signing_keys, { [alice.userId]: keys.body.self_signing_key });
  t.same(stored.user_signing_keys, { [alice.userId]: keys.body.user_signing_key }, 'her own user-signing key is shown to her');

  const replacement = crossSigningKeys(alice.userId, 20);
  const challenge = await alice.call('POST', '/keys/device_signing/upload', replacement.body);
  t.equal(challenge.status, 401, 'new keys need the password');
  const wrong = await alice.call('POST', '/keys/device_signing/upload', { ...replacement.body, auth: { ...password(challenge.body.session as string), password: 'wrong' } });
  t.equal(wrong.status, 401);
  t.same((await query()).master_keys, { [alice.userId]: keys.body.master_key }, 'a wrong password replaces nothing');
  const replaced = await alice.call('POST', '/keys/device_signing/upload', { ...replacement.body, auth: password(challenge.body.session as string) });
  t.equal(replaced.status, 200);
  t.same((await query()).master_keys, { [alice.userId]: replacement.body.master_key });

  // A device id equal to a cross-signing public key would let one pass for the other.
  const clash = crossSigningKey(30);
  const login = await app.inject({
    method: 'POST',
    url: '/_matrix/client/v3/login',
    payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw', device_id: clash.publicKey },
  });
  t.equal(login.statusCode, 200);
  const clashing = { user_id: alice.userId, usage: ['self_signing'], keys: { [`ed25519:${clash.publicKey}`]: clash.publicKey } };
  const inUse = await alice.call('POST', '/keys/device_signing/upload', {
    self_signing_key: signJson(clashing, alice.userId, replacement.master.key),
    auth: password(challenge.body.session as string),
  });
  t.equal(inUse.status, 403);
  t.equal(inUse.body.errcode, 'M_FORBIDDEN');
});

void eachEngine(t, 'signatures: devices by the self-signing key, master keys by devices and by other users; only valid ones are kept', async (t, db) => {
  const { app } = await appOn(t, db);
  const alice = clientOf(app, await registerUser(app, 'alice'));
  const bob = clientOf(app, await registerUser(app, 'bob'));
  const roomId = await alice.createRoom();
  await bob.join(roomId);
  const aliceCs = crossSigningKeys(alice.userId, 40);
  const bobCs = crossSigningKeys(bob.userId, 50);
  const aliceDevice = deviceKeys(alice.userId, alice.deviceId, 41);
  await alice.call('POST', '/keys/upload', { device_keys: aliceDevice.json });
  await alice.call('POST', '/keys/device_signing/upload', aliceCs.body);
  await bob.call('POST', '/keys/device_signing/upload', bobCs.body);
  const bobStart = await syncToken(bob);

  // Alice's self-signing key signs her device; her device signs her master key.
  const signedDevice = signJson(aliceDevice.json, alice.userId, aliceCs.selfSigning.key);
  const signedMaster = signJson(aliceCs.body.master_key, alice.userId, aliceDevice.key);
  const forgedDevice = signJson(aliceDevice.json, alice.userId, crossSigningKey(99).key);
  const own = await alice.call('POST', '/keys/signatures/upload', {
    [alice.userId]: { [alice.deviceId]: signedDevice, [aliceCs.master.publicKey]: signedMaster, NOSUCHDEVICE: signedDevice },
  });
  t.equal(own.status, 200);
  t.same(Object.keys((own.body.failures as Json)[alice.userId] as Json), ['NOSUCHDEVICE'], 'only the unknown device failed');

  const forged = await alice.call('POST', '/keys/signatures/upload', {
    [alice.userId]: { [alice.deviceId]: { ...forgedDevice, signatures: { [alice.userId]: { [`ed25519:${aliceCs.selfSigning.publicKey}`]: (forgedDevice.signatures[alice.userId] as Json)[`ed25519:${crossSigningKey(99).publicKey}`] } } } },
  });
  t.equal(((forged.body.failures as Json)[alice.userId] as Record<string, Json>)[alice.deviceId]?.errcode, 'M_INVALID_SIGNATURE', 'a signature that does not verify is refused');
  const altered = await alice.call('POST', '/keys/signatures/upload', {
    [alice.userId]: { [alice.deviceId]: signJson({ ...aliceDevice.json, algorithms: ['x'] }, alice.userId, aliceCs.selfSigning.key) },
  });
  t.equal(((altered.body.failures as Json)[alice.userId] as Record<string, Json>)[alice.deviceId]?.errcode, 'M_INVALID_SIGNATURE', 'so is one over other content than the stored key');

  // Alice's user-signing key signs Bob's master key: only Alice sees that signature.
  const aliceSignsBob = signJson(bobCs.body.master_key, alice.userId, aliceCs.userSigning.key);
  const other = await alice.call('POST', '/keys/signatures/upload', { [bob.userId]: { [bobCs.master.publicKey]: aliceSignsBob } });
  t.same(other.body, { failures: {} });
  const bobForgesAlice = await bob.call('POST', '/keys/signatures/upload', { [alice.userId]: { [alice.deviceId]: signedDevice } });
  t.equal(((bobForgesAlice.body.failures as Json)[alice.userId] as Record<string, Json>)[alice.deviceId]?.errcode, 'M_NOT_FOUND', "bob cannot sign alice's devices");

  const asBob = (await bob.call('POST', '/keys/query', { device_keys: { [alice.userId]: [], [bob.userId]: [] } })).body;
  const aliceDeviceAsBob = ((asBob.device_keys as Record<string, Json>)[alice.userId] as Record<string, Json>)[alice.deviceId] as Json;
  t.same(aliceDeviceAsBob.signatures, signedDevice.signatures, "bob sees alice's device signed by her self-signing key");
  t.same(((asBob.master_keys as Record<string, Json>)[alice.userId] as Json).signatures, signedMaster.signatures, "and her master key signed by her device");
  t.same(((asBob.master_keys as Record<string, Json>)[bob.userId] as Json).signatures, undefined, "but not alice's signature on his own master key");
  t.same(Object.keys(asBob.user_signing_keys as Json), [bob.userId], "nor alice's user-signing key");
  const asAlice = (await alice.call('POST', '/keys/query', { device_keys: { [bob.userId]: [] } })).body;
  t.same(((asAlice.master_keys as Record<string, Json>)[bob.userId] as Json).signatures, aliceSignsBob.signatures, 'alice sees her signature on bob');

  const bobLater = await syncToken(bob, bobStart.next_batch);
  t.same(bobLater.device_lists.changed, [alice.userId], "bob hears of alice's new signatures, not of hers on him");

  // A new user-signing key alone is alice's business: bob is not told.
  const aliceBefore = await syncToken(alice);
  const newUserSigning = crossSigningKey(60);
  const uskJson = { user_id: alice.userId, usage: ['user_signing'], keys: { [`ed25519:${newUserSigning.publicKey}`]: newUserSigning.publicKey } };
  const challenge = await alice.call('POST', '/keys/device_signing/upload', { user_signing_key: signJson(uskJson, alice.userId, aliceCs.master.key) });
  t.equal(challenge.status, 401);
  const uploaded = await alice.call('POST', '/keys/device_signing/upload', {
    user_signing_key: signJson(uskJson, alice.userId, aliceCs.master.key),
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw', session: challenge.body.session },
  });
  t.equal(uploaded.status, 200);
  t.same((await syncToken(bob, bobLater.next_batch)).device_lists.changed, [], 'bob hears nothing of it');
  t.same((await syncToken(alice, aliceBefore.next_batch)).device_lists.changed, [alice.userId], "alice's other devices do");
});
