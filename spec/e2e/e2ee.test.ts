import t from 'tap';
import { decodeRecoveryKey, type GeneratedSecretStorageKey } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { clientRegistry, quietLogger as quiet, registerWithSdk, sdk } from '../helpers/matrix-sdk.js';
import { engines } from '../helpers/database.js';
import { quietly, until } from '../helpers/sdk-devices.js';
import { startTestServer } from '../helpers/server.js';

/**
 * End-to-end encryption through a real Hearth with matrix-js-sdk and its Rust crypto, as Element does it:
 * an encrypted DM read both ways, cross-signing, a new device showing up in the other side's device list,
 * history read on a new device from the server-side key backup, and the fallback key taking over once
 * the one-time keys are gone. Hearth only carries keys and ciphertext; every check here is made by the
 * clients' own crypto.
 */

const clients = clientRegistry();

interface Login {
  readonly userId: string;
  readonly deviceId: string;
  readonly accessToken: string;
}

async function login(baseUrl: string, username: string, password: string): Promise<Login> {
  const anonymous = sdk.createClient({ baseUrl, logger: quiet });
  const response = await anonymous.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password });
  return { userId: response.user_id, deviceId: response.device_id, accessToken: response.access_token };
}

interface DeviceOptions {
  readonly fetchFn?: typeof fetch;
  readonly cryptoCallbacks?: sdk.ICreateClientOpts['cryptoCallbacks'];
}

/** A new device: logs in, starts the Rust crypto (in memory) and syncs until the first sync is done. */
async function newDevice(baseUrl: string, username: string, password: string, options: DeviceOptions = {}): Promise<sdk.MatrixClient> {
  const { userId, deviceId, accessToken } = await login(baseUrl, username, password);
  const client = sdk.createClient({ baseUrl, logger: quiet, userId, accessToken, deviceId, ...options });
  clients.add(client);
  await quietly(() => client.initRustCrypto({ useIndexedDB: false }));
  await client.startClient({ initialSyncLimit: 20 });
  await until(client, `${username}'s first sync`, () => (client.isInitialSyncComplete() ? true : undefined));
  return client;
}

function crypto(client: sdk.MatrixClient) {
  const api = client.getCrypto();
  if (!api) throw new Error(`${client.getUserId()} has no crypto`);
  return api;
}

/** Plain HTTP as a given device, for what a client never shows: the server's own answers. */
async function api<T = Record<string, unknown>>(baseUrl: string, accessToken: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/_matrix/client/v3${path}`, {
    method,
    headers: { authorization: `Bearer ${accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * UIA for /keys/device_signing/upload as Element does it: first without auth, then, if the server asks,
 * with the account password. `asked` collects the flows the server offered each time it asked.
 */
function passwordAuth(userId: string, password: string) {
  const asked: string[][][] = [];
  const callback = async <T>(makeRequest: (auth: Record<string, unknown> | null) => Promise<T>): Promise<T> => {
    try {
      return await makeRequest(null);
    } catch (err) {
      const data = (err as sdk.MatrixError).data as { session?: string; flows?: Array<{ stages: string[] }> } | undefined;
      if ((err as sdk.MatrixError).httpStatus !== 401 || !data?.flows) throw err;
      asked.push(data.flows.map((flow) => flow.stages));
      return makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: userId }, password, ...(data.session ? { session: data.session } : {}) });
    }
  };
  return { callback, asked };
}

/** The room's messages as this client reads them: bodies of the decrypted m.room.message events. */
function bodies(client: sdk.MatrixClient, roomId: string): string[] {
  return (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [])
    .filter((event) => event.getType() === 'm.room.message')
    .map((event) => event.getContent().body as string);
}

function eventWithBody(client: sdk.MatrixClient, roomId: string, body: string): sdk.MatrixEvent | undefined {
  return client.getRoom(roomId)?.getLiveTimeline().getEvents().find((event) => event.getType() === 'm.room.message' && event.getContent().body === body);
}

interface ClaimResponse {
  one_time_keys: Record<string, Record<string, Record<string, { key: string; fallback?: boolean }>>>;
}

interface SyncKeyCounts {
  device_one_time_keys_count?: Record<string, number>;
  device_unused_fallback_key_types?: string[];
}

function urlOf(input: string | URL | Request): string {
  return input instanceof Request ? input.url : String(input);
}

const ENCRYPTION = { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } };

/** Alice's encrypted DM with Bob, both joined and each seeing the other in it. */
async function encryptedDm(alice: sdk.MatrixClient, bob: sdk.MatrixClient): Promise<string> {
  const bobId = bob.getUserId()!;
  const { room_id: roomId } = await alice.createRoom({ is_direct: true, preset: sdk.Preset.TrustedPrivateChat, invite: [bobId], initial_state: [ENCRYPTION] });
  await until(bob, 'the invite', () => (bob.getRoom(roomId)?.getMyMembership() === 'invite' ? true : undefined));
  await bob.joinRoom(roomId);
  await until(alice, "bob's join", () => (alice.getRoom(roomId)?.getMember(bobId)?.membership === 'join' ? true : undefined));
  await until(bob, 'the encrypted room', async () => ((await crypto(bob).isEncryptionEnabledInRoom(roomId)) ? true : undefined));
  return roomId;
}

for (const engine of engines()) {
  t.test(`end-to-end encryption through Hearth with matrix-js-sdk's Rust crypto [${engine}]`, async (t) => {
    t.teardown(() => clients.stopAll());
    const baseUrl = (await startTestServer(t, engine)).url;
    await registerWithSdk(baseUrl, 'alice', 'alice password');
    await registerWithSdk(baseUrl, 'bob', 'bob password');

    // Bob keeps his secret storage key as Element does once he has written the recovery key down: the
    // device that made it caches it, a new device gets it from him typing the recovery key.
    let recoveryKey: GeneratedSecretStorageKey | undefined;
    const bobCallbacks = (typed: () => Uint8Array | undefined): DeviceOptions['cryptoCallbacks'] => {
      const cached = new Map<string, Uint8Array>();
      return {
        cacheSecretStorageKey: (keyId, _info, key) => void cached.set(keyId, key),
        getSecretStorageKey: async ({ keys }) => {
          const keyId = Object.keys(keys)[0]!;
          const key = cached.get(keyId) ?? typed();
          return key ? [keyId, key] : null;
        },
      };
    };

    // What the server tells Alice's client, read on the way: the device_lists.changed of her syncs, and
    // her /keys/claim answers (which kind of key her client started an Olm session with).
    const aliceClaims: ClaimResponse[] = [];
    const aliceChanged: string[][] = [];
    const aliceMasterKeys: string[] = [];
    const aliceFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = urlOf(input);
      if (response.ok && url.includes('/keys/device_signing/upload')) {
        const keys = (JSON.parse(String(init?.body)) as { master_key?: { keys: Record<string, string> } }).master_key?.keys;
        if (keys) aliceMasterKeys.push(...Object.values(keys));
      }
      if (response.ok && url.includes('/keys/claim')) aliceClaims.push((await response.clone().json()) as ClaimResponse);
      if (response.ok && url.includes('/sync?')) aliceChanged.push(((await response.clone().json()) as { device_lists?: { changed?: string[] } }).device_lists?.changed ?? []);
      return response;
    };
    const alice = await newDevice(baseUrl, 'alice', 'alice password', { fetchFn: aliceFetch });
    const bob = await newDevice(baseUrl, 'bob', 'bob password', { cryptoCallbacks: bobCallbacks(() => undefined) });
    const aliceId = alice.getUserId()!;
    const bobId = bob.getUserId()!;
    const bobDevice = bob.getDeviceId()!;

    let roomId = '';
    await t.test('alice and bob talk in an encrypted DM and each decrypts the other', async (t) => {
      roomId = await encryptedDm(alice, bob);
      t.ok(await crypto(alice).isEncryptionEnabledInRoom(roomId), "alice's crypto knows the room is encrypted");

      await alice.sendTextMessage(roomId, 'Hello Bob, secretly');
      const atBob = await until(bob, "alice's encrypted message, decrypted", () => eventWithBody(bob, roomId, 'Hello Bob, secretly'));
      t.equal(atBob.getWireType(), 'm.room.encrypted', 'it travelled as m.room.encrypted');
      t.equal(atBob.getWireContent().algorithm, 'm.megolm.v1.aes-sha2', 'with Megolm');
      t.notOk(atBob.isDecryptionFailure(), 'bob decrypted it');

      await bob.sendTextMessage(roomId, 'Hi Alice, secretly');
      const atAlice = await until(alice, "bob's encrypted reply, decrypted", () => eventWithBody(alice, roomId, 'Hi Alice, secretly'));
      t.equal(atAlice.getWireType(), 'm.room.encrypted', 'the reply travelled encrypted too');
      t.same(bodies(alice, roomId), ['Hello Bob, secretly', 'Hi Alice, secretly'], 'alice reads both, in order');
      t.same(bodies(bob, roomId), ['Hello Bob, secretly', 'Hi Alice, secretly'], 'bob reads both, in order');

      // What the server holds is ciphertext only.
      const stored = await api<{ type: string; content: Record<string, unknown> }>(baseUrl, bob.getAccessToken()!, 'GET', `/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(atAlice.getId()!)}`);
      t.equal(stored.type, 'm.room.encrypted', 'the server has the event as m.room.encrypted');
      t.notMatch(JSON.stringify(stored.content), /secretly/, 'and no plaintext');
    });

    await t.test('cross-signing is bootstrapped and alice sees bob\'s device signed by him', async (t) => {
      // Secret storage first, holding the cross-signing keys and the key backup's key from the start.
      await crypto(bob).bootstrapSecretStorage({
        setupNewSecretStorage: true,
        createSecretStorageKey: async () => (recoveryKey = await crypto(bob).createRecoveryKeyFromPassphrase()),
      });
      const bobAuth = passwordAuth(bobId, 'bob password');
      await crypto(bob).bootstrapCrossSigning({ authUploadDeviceSigningKeys: bobAuth.callback });
      t.same(bobAuth.asked, [], "bob's first cross-signing keys needed no password");
      t.ok(await crypto(bob).isCrossSigningReady(), "bob's cross-signing is ready");
      t.ok(await crypto(bob).isSecretStorageReady(), "bob's secret storage holds his cross-signing keys");

      const aliceAuth = passwordAuth(aliceId, 'alice password');
      await crypto(alice).bootstrapCrossSigning({ authUploadDeviceSigningKeys: aliceAuth.callback });
      t.ok(await crypto(alice).isCrossSigningReady(), "alice's cross-signing is ready");
      // Replacing a master key takes the account password (user-interactive auth). (Alice's client may
      // then drop its new private keys: a /keys/query answered before the reset that lands after it
      // shows it the old public keys, and the Rust SDK clears private keys that do not match. Only the
      // server's side is checked.)
      await crypto(alice).bootstrapCrossSigning({ setupNewCrossSigning: true, authUploadDeviceSigningKeys: aliceAuth.callback });
      t.ok(aliceAuth.asked.length === 1 && aliceAuth.asked[0]!.some((stages) => stages.includes('m.login.password')), 'replacing her master key, alice is asked for her password');
      t.equal(aliceMasterKeys.length, 2, 'both of her master keys were accepted');
      const published = await api<{ master_keys: Record<string, { keys: Record<string, string> }> }>(baseUrl, bob.getAccessToken()!, 'POST', '/keys/query', { device_keys: { [aliceId]: [] } });
      t.same(Object.values(published.master_keys[aliceId]?.keys ?? {}), aliceMasterKeys.slice(1), 'the server publishes the new one');
      const own = await crypto(bob).getDeviceVerificationStatus(bobId, bobDevice);
      t.ok(own?.crossSigningVerified, "bob's device is cross-signed in his own eyes");

      // Alice learns of Bob's new keys through device_lists.changed, then /keys/query: no restart.
      const status = await until(alice, "bob's device signed by bob, at alice", async () => {
        const found = await crypto(alice).getDeviceVerificationStatus(bobId, bobDevice);
        return found?.signedByOwner ? found : undefined;
      });
      t.ok(status.signedByOwner, "alice sees bob's device cross-signed by bob");
      t.notOk(status.crossSigningVerified, 'not verified by alice herself: she has not verified bob');
      t.ok(await crypto(alice).userHasCrossSigningKeys(bobId), "alice has bob's cross-signing keys");
      t.ok(await until(bob, "alice's device signed by alice's new keys, at bob", async () => {
        const signed = (await crypto(bob).getDeviceVerificationStatus(aliceId, alice.getDeviceId()!))?.signedByOwner;
        return signed && (await crypto(bob).userHasCrossSigningKeys(aliceId)) ? true : undefined;
      }), "and bob sees alice's device signed by alice's current keys");
    });

    await t.test('bob backs up his room keys on the server', async (t) => {
      await crypto(bob).resetKeyBackup();
      // resetKeyBackup enables the new backup without waiting for it; this is the same check, awaited.
      await crypto(bob).checkKeyBackupAndEnable();
      const version = await crypto(bob).getActiveSessionBackupVersion();
      t.ok(version, 'bob has an active backup');
      const sessions = (await crypto(bob).exportRoomKeys()).length;
      t.ok(sessions >= 2, `bob holds both megolm sessions of the DM (${sessions})`);
      const info = await until(bob, 'every room key in the backup', async () => {
        const backup = await api<{ count: number; etag: string; version: string }>(baseUrl, bob.getAccessToken()!, 'GET', '/room_keys/version');
        return backup.count >= sessions ? backup : undefined;
      });
      t.equal(info.version, version, 'the server has the version bob uses');
      t.ok((await crypto(bob).checkKeyBackupAndEnable())?.trustInfo.trusted, 'bob trusts his backup (signed by his device and master key)');
    });

    let bob2: sdk.MatrixClient | undefined;
    await t.test("bob's new device shows up in alice's device list without a restart, then cross-signed", async (t) => {
      t.equal((await crypto(alice).getUserDeviceInfo([bobId])).get(bobId)?.size, 1, 'alice knows one device of bob');
      const syncsBefore = aliceChanged.length;
      bob2 = await newDevice(baseUrl, 'bob', 'bob password', { cryptoCallbacks: bobCallbacks(() => (recoveryKey ? decodeRecoveryKey(recoveryKey.encodedPrivateKey!) : undefined)) });
      const bob2Device = bob2.getDeviceId()!;
      const devices = await until(alice, "bob's second device at alice", async () => {
        const found = (await crypto(alice).getUserDeviceInfo([bobId])).get(bobId);
        return found?.has(bob2Device) ? found : undefined;
      });
      t.same([...devices.keys()].sort(), [bobDevice, bob2Device].sort(), "alice sees both of bob's devices");
      t.ok(aliceChanged.slice(syncsBefore).some((changed) => changed.includes(bobId)), "told by her sync's device_lists.changed");
      t.notOk((await crypto(alice).getDeviceVerificationStatus(bobId, bob2Device))?.signedByOwner, 'the new one is not cross-signed yet');

      // The new device takes the cross-signing keys from secret storage (Bob types his recovery key) and
      // signs itself; Alice hears of it again through device_lists.
      // Only once the new device has its user's public cross-signing keys (its first /keys/query, which the
      // SDK sends after the first sync) can it check the private ones from secret storage against them.
      await until(bob2, "bob's cross-signing keys known to his new device", async () =>
        (await crypto(bob2!).getCrossSigningStatus()).publicKeysOnDevice ? true : undefined);
      await crypto(bob2).bootstrapCrossSigning({});
      t.ok(await crypto(bob2).isCrossSigningReady(), "bob's second device has the cross-signing keys");
      const status = await until(alice, "bob's second device signed by bob, at alice", async () => {
        const found = await crypto(alice).getDeviceVerificationStatus(bobId, bob2Device);
        return found?.signedByOwner ? found : undefined;
      });
      t.ok(status.signedByOwner, "alice sees bob's second device cross-signed by bob");
      t.ok(await until(bob, "bob's second device trusted by his first", async () =>
        (await crypto(bob).getDeviceVerificationStatus(bobId, bob2Device))?.crossSigningVerified ? true : undefined), "bob's first device trusts his second");
    });

    await t.test('bob restores the key backup on his new device and reads the history', async (t) => {
      const late = bob2!;
      const failed = await until(late, 'the history on the new device, undecryptable so far', () => {
        const encrypted = (late.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []).filter((e) => e.getWireType() === 'm.room.encrypted');
        return encrypted.length >= 2 && encrypted.every((e) => e.isDecryptionFailure()) ? encrypted : undefined;
      });
      t.equal(failed.length, 2, 'before the restore the new device has both messages and can read neither');

      await crypto(late).loadSessionBackupPrivateKeyFromSecretStorage();
      const check = await crypto(late).checkKeyBackupAndEnable();
      t.ok(check?.trustInfo.trusted, 'the new device trusts the backup');
      const restored = await crypto(late).restoreKeyBackup();
      t.ok(restored.imported >= 2, `the restore imported the DM's room keys (${restored.imported} of ${restored.total})`);

      await until(late, 'the history, decrypted on the new device', () =>
        ['Hello Bob, secretly', 'Hi Alice, secretly'].every((body) => eventWithBody(late, roomId, body)) ? true : undefined);
      t.same(bodies(late, roomId), ['Hello Bob, secretly', 'Hi Alice, secretly'], 'bob reads the whole history on his new device');

      // And what comes next reaches the new device straight away.
      await alice.sendTextMessage(roomId, 'Welcome, new device');
      t.ok(await until(late, 'a new message on the new device', () => eventWithBody(late, roomId, 'Welcome, new device')), 'the new device reads new messages');
    });

    await t.test("dave's one-time keys run out and his fallback key takes over", async (t) => {
      await registerWithSdk(baseUrl, 'dave', 'dave password');
      await registerWithSdk(baseUrl, 'carol', 'carol password');
      // Dave's device may not top its keys up while the test holds its uploads: the server's answers,
      // not the timing of his next sync, decide which key Alice gets.
      let held: Promise<void> | undefined;
      let release = () => {};
      const daveFetch: typeof fetch = async (input, init) => {
        if (held && urlOf(input).includes('/keys/upload')) await held;
        return fetch(input, init);
      };
      const dave = await newDevice(baseUrl, 'dave', 'dave password', { fetchFn: daveFetch });
      const daveId = dave.getUserId()!;
      const daveDevice = dave.getDeviceId()!;
      const keyCounts = () => api<SyncKeyCounts>(baseUrl, dave.getAccessToken()!, 'GET', '/sync?timeout=0');
      const published = await until(dave, "dave's one-time and fallback keys on the server", async () => {
        const sync = await keyCounts();
        return (sync.device_one_time_keys_count?.signed_curve25519 ?? 0) > 0 && sync.device_unused_fallback_key_types?.includes('signed_curve25519') ? sync : undefined;
      });
      held = new Promise((resolve) => (release = resolve));
      t.teardown(release);
      const oneTimeKeys = published.device_one_time_keys_count!.signed_curve25519!;

      // Carol, over plain HTTP, takes every one-time key of Dave's device; then she gets the fallback key.
      const carol = await login(baseUrl, 'carol', 'carol password');
      const claimed = new Set<string>();
      let fallback: { keyId: string; key: string } | undefined;
      for (let i = 0; i <= oneTimeKeys && !fallback; i++) {
        const answer = await api<ClaimResponse>(baseUrl, carol.accessToken, 'POST', '/keys/claim', { one_time_keys: { [daveId]: { [daveDevice]: 'signed_curve25519' } } });
        const [keyId, key] = Object.entries(answer.one_time_keys[daveId]?.[daveDevice] ?? {})[0] ?? [];
        if (keyId === undefined || key === undefined) throw new Error(`claim ${i} returned no key: ${JSON.stringify(answer)}`);
        if (key.fallback === true) fallback = { keyId, key: key.key };
        else claimed.add(keyId);
      }
      t.equal(claimed.size, oneTimeKeys, `each of the ${oneTimeKeys} one-time keys was handed out once`);
      t.ok(fallback, 'then the claim returns the fallback key, marked fallback: true');
      const drained = await keyCounts();
      t.equal(drained.device_one_time_keys_count?.signed_curve25519 ?? 0, 0, "/sync tells dave's device it has no one-time keys left");
      t.same(drained.device_unused_fallback_key_types, [], '/sync tells it its fallback key has been used');

      // Alice starts an Olm session with Dave's device: only the fallback key is left for it.
      const { room_id: roomId } = await alice.createRoom({ is_direct: true, preset: sdk.Preset.TrustedPrivateChat, invite: [daveId], initial_state: [ENCRYPTION] });
      await until(dave, 'the invite', () => (dave.getRoom(roomId)?.getMyMembership() === 'invite' ? true : undefined));
      await dave.joinRoom(roomId);
      await until(alice, "dave's join", () => (alice.getRoom(roomId)?.getMember(daveId)?.membership === 'join' ? true : undefined));
      const claimsBefore = aliceClaims.length;
      await alice.sendTextMessage(roomId, 'Hello Dave, on your fallback key');
      const aliceGot = aliceClaims.slice(claimsBefore).map((answer) => answer.one_time_keys[daveId]?.[daveDevice]).find((keys) => keys !== undefined);
      t.same(aliceGot && Object.keys(aliceGot), [fallback?.keyId], "alice's client claimed a key for dave's device and got the fallback key");
      t.equal(aliceGot && Object.values(aliceGot)[0]?.fallback, true, 'marked as such');

      release();
      const atDave = await until(dave, "alice's message, decrypted with the session on dave's fallback key", () => eventWithBody(dave, roomId, 'Hello Dave, on your fallback key'));
      t.equal(atDave.getWireType(), 'm.room.encrypted', 'dave decrypts it');

      // Told by /sync that none is left (signed_curve25519: 0), Dave's device publishes new one-time keys.
      // (Its fallback key stays in use: the Rust SDK replaces a fallback key by age, not on use.)
      const topped = await until(dave, "dave's device topping its one-time keys up", async () => {
        const sync = await keyCounts();
        return (sync.device_one_time_keys_count?.signed_curve25519 ?? 0) > 0 ? sync : undefined;
      });
      t.ok(topped.device_one_time_keys_count!.signed_curve25519! > 0, `dave has one-time keys again (${topped.device_one_time_keys_count!.signed_curve25519})`);
    });
  });
}
