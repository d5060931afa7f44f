import t from 'tap';
import { clientRegistry, sdk } from '../helpers/matrix-sdk.js';
import { eventWithBody, newSdkDevice, testCertFetch, until } from '../helpers/sdk-devices.js';
import { startFederationPair } from '../helpers/federation-pair.js';

/**
 * An encrypted DM across two real Hearths, read on both sides by matrix-js-sdk's Rust crypto. Each client
 * learns the other's device keys through its own server's remote /keys/query, claims a one-time key through
 * remote /keys/claim, and sends its room key as to-device messages that cross as m.direct_to_device EDUs;
 * device lists follow through m.device_list_update. Hearth only carries keys and ciphertext: every check is
 * made by the clients' crypto. (Embedded engine only: the PostgreSQL path is covered by e2ee.test.ts.)
 */

const clients = clientRegistry();
const ENCRYPTION = { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } };

t.test('an encrypted DM between users of two federating Hearths decrypts on both sides', async (t) => {
  // Registered before the servers' teardown, so it runs first: the clients stop, then the servers.
  const https = testCertFetch();
  t.teardown(async () => {
    clients.stopAll();
    await https.close();
  });
  const fetchFn = https.fetch;
  const { a, b } = await startFederationPair(t);
  const [alice, bob] = await Promise.all([
    newSdkDevice(a.url, 'alice', 'alice password', fetchFn).then((c) => clients.add(c)),
    newSdkDevice(b.url, 'bob', 'bob password', fetchFn).then((c) => clients.add(c)),
  ]);
  const bobId = bob.getUserId()!;
  const aliceId = alice.getUserId()!;

  const { room_id: roomId } = await alice.createRoom({ is_direct: true, preset: sdk.Preset.TrustedPrivateChat, invite: [bobId], initial_state: [ENCRYPTION] });
  await until(bob, 'the invite over federation', () => (bob.getRoom(roomId)?.getMyMembership() === 'invite' ? true : undefined));
  await bob.joinRoom(roomId);
  await until(alice, "bob's join, at alice", () => (alice.getRoom(roomId)?.getMember(bobId)?.membership === 'join' ? true : undefined));
  await until(bob, 'the encrypted room, at bob', async () => ((await bob.getCrypto()!.isEncryptionEnabledInRoom(roomId)) ? true : undefined));

  await t.test("each side sees the other's device through its own server", async (t) => {
    const atAlice = await until(alice, "bob's device at alice", async () => {
      const devices = (await alice.getCrypto()!.getUserDeviceInfo([bobId], true)).get(bobId);
      return devices?.has(bob.getDeviceId()!) ? devices : undefined;
    });
    t.same([...atAlice.keys()], [bob.getDeviceId()], "alice's client has bob's one device (remote /keys/query)");
    const atBob = await until(bob, "alice's device at bob", async () => {
      const devices = (await bob.getCrypto()!.getUserDeviceInfo([aliceId], true)).get(aliceId);
      return devices?.has(alice.getDeviceId()!) ? devices : undefined;
    });
    t.same([...atBob.keys()], [alice.getDeviceId()], "bob's client has alice's one device");
  });

  await t.test('alice writes, bob decrypts; bob answers, alice decrypts', async (t) => {
    await alice.sendTextMessage(roomId, 'Hello Bob, across servers');
    const atBob = await until(bob, "alice's message, decrypted at bob", () => eventWithBody(bob, roomId, 'Hello Bob, across servers'));
    t.equal(atBob.getWireType(), 'm.room.encrypted', 'it crossed as m.room.encrypted');
    t.equal(atBob.getWireContent().algorithm, 'm.megolm.v1.aes-sha2', 'with Megolm');

    await bob.sendTextMessage(roomId, 'Hi Alice, across servers');
    const atAlice = await until(alice, "bob's reply, decrypted at alice", () => eventWithBody(alice, roomId, 'Hi Alice, across servers'));
    t.equal(atAlice.getWireType(), 'm.room.encrypted', 'the reply crossed encrypted too');
    t.notOk(atAlice.isDecryptionFailure(), 'alice decrypted it');

    // Neither server holds plaintext: A's copy of bob's event is ciphertext.
    const stored = await a.app.inject({
      method: 'GET',
      url: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(atAlice.getId()!)}`,
      headers: { authorization: `Bearer ${alice.getAccessToken()}` },
    });
    t.equal(stored.json().type, 'm.room.encrypted', "A stores bob's event as m.room.encrypted");
    t.notMatch(stored.body, /across servers/, 'with no plaintext');
  });

  await t.test("bob's new device reaches alice's client through her server, and reads what she writes next", async (t) => {
    const bobPhone = clients.add(await newSdkDevice(b.url, 'bob', 'bob password', fetchFn, { existingAccount: true }));
    // B sends m.device_list_update to A, which applies it to its kept copy of bob's list and tells alice's sync.
    const atAlice = await until(alice, "bob's second device at alice", async () => {
      const devices = (await alice.getCrypto()!.getUserDeviceInfo([bobId], true)).get(bobId);
      return devices?.has(bobPhone.getDeviceId()!) ? devices : undefined;
    });
    t.same([...atAlice.keys()].sort(), [bob.getDeviceId(), bobPhone.getDeviceId()].sort(), "alice's client lists both of bob's devices");

    await alice.sendTextMessage(roomId, 'For both of your devices, Bob');
    const onPhone = await until(bobPhone, "alice's message, decrypted on bob's new device", () => eventWithBody(bobPhone, roomId, 'For both of your devices, Bob'));
    t.equal(onPhone.getWireType(), 'm.room.encrypted');
    t.notOk(onPhone.isDecryptionFailure(), "bob's new device got the room key");
  });
});
