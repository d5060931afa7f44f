import t, { type Test } from 'tap';
import { encodeBase64, signJson, verifyJsonSignature } from '../../src/crypto/index.js';
import {
  createKeyring,
  createServerKeysService,
  FederationRequestError,
  MAX_KEY_VALIDITY_MS,
  parseXMatrix,
  verifyRequestSignature,
  type FederationClient,
  type TrustedKeyServer,
} from '../../src/federation/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createServerKeysStore } from '../../src/storage/index.js';
import type { Database } from '../../src/storage/index.js';
import { testDatabase } from '../helpers/database.js';
import { keyPublication, remoteServer, testFederationClient, testKey, type RemoteHandler } from './helpers.js';

const NOW = 1_700_000_000_000;
const DAY = 24 * 3600_000;
const localKey = testKey('local', 1);
const remoteKey = testKey('remote', 2);

function keyringOn(db: Database, client: FederationClient, clock = fixedClock(NOW), trustedKeyServers: TrustedKeyServer[] = [], refetchIntervalMs = 0) {
  return createKeyring({
    serverName: 'local.test',
    ownKeys: createServerKeysService({ serverName: 'local.test', signingKey: localKey, oldVerifyKeys: {}, validForMs: DAY, clock }),
    signingKey: localKey,
    oldVerifyKeys: { 'ed25519:retired': { key: encodeBase64(testKey('retired', 9).publicKey), expired_ts: NOW - DAY } },
    store: createServerKeysStore(db.sql),
    client,
    clock,
    log: silentLogger(),
    trustedKeyServers,
    refetchIntervalMs,
  });
}

async function remote(t: Test, handler: (name: string) => RemoteHandler) {
  let name = '';
  const server = await remoteServer(t, (request) => handler(name)(request));
  name = `remote.test:${server.port}`;
  return { ...server, name };
}

t.test('the client signs requests, sends the right Host header, and reports remote errors with their errcode', async (t) => {
  const server = await remote(t, () => (request) =>
    request.url.startsWith('/_matrix/federation/v1/query/profile')
      ? { json: { displayname: 'Alice' } }
      : { status: 403, json: { errcode: 'M_FORBIDDEN', error: 'no' } });
  const { client } = testFederationClient(t, { key: localKey });
  const answer = await client.request<{ displayname: string }>(server.name, 'GET', '/_matrix/federation/v1/query/profile', {
    query: { user_id: '@alice:remote.test', field: 'displayname' },
  });
  t.same(answer, { displayname: 'Alice' });
  const seen = server.seen[0]!;
  t.equal(seen.url, '/_matrix/federation/v1/query/profile?user_id=%40alice%3Aremote.test&field=displayname');
  t.equal(seen.host, server.name, 'Host is the server name with its port');
  const auth = parseXMatrix(seen.authorization!);
  t.same([auth.origin, auth.destination, auth.key], ['local.test', server.name, localKey.keyId]);
  t.ok(verifyRequestSignature({ method: 'GET', uri: seen.url, origin: 'local.test', destination: server.name }, auth.key, auth.sig, localKey.publicKey),
    'the signature covers the path and query as sent');

  await client.request(server.name, 'PUT', '/_matrix/federation/v1/send/1', {}).catch(() => undefined);
  t.same(server.seen[1]!.body, {}, 'PUT without a body sends {}');
  const put = parseXMatrix(server.seen[1]!.authorization!);
  t.ok(verifyRequestSignature({ method: 'PUT', uri: '/_matrix/federation/v1/send/1', origin: 'local.test', destination: server.name, content: {} },
    put.key, put.sig, localKey.publicKey), 'the body is signed as content');

  const err = await client.request(server.name, 'POST', '/_matrix/federation/v1/other', { body: { a: 1 } }).catch((e: unknown) => e);
  t.ok(err instanceof FederationRequestError);
  t.match(err, { kind: 'remote', remoteStatus: 403, remoteErrcode: 'M_FORBIDDEN', errcode: 'M_UNKNOWN', status: 502, destination: server.name });
});

t.test('private and loopback addresses are refused unless allowed', async (t) => {
  const server = await remote(t, () => () => ({ json: {} }));
  const { client } = testFederationClient(t, { allowPrivateAddresses: false });
  await t.rejects(client.request(server.name, 'GET', '/_matrix/federation/v1/version'), { kind: 'refused', message: /private or loopback/ },
    'a name that resolves to 127.0.0.1');
  await t.rejects(client.request(`127.0.0.1:${server.port}`, 'GET', '/_matrix/federation/v1/version'), { kind: 'refused', message: /private or loopback/ }, 'an IP literal');
  await t.rejects(client.request('[::1]:8448', 'GET', '/_matrix/federation/v1/version'), { kind: 'refused', message: /private or loopback/ }, 'an IPv6 literal');
  t.equal(server.seen.length, 0, 'nothing was sent');
  await t.rejects(client.request('bad name', 'GET', '/x'), { kind: 'invalid_destination', message: /not a valid server name/ });
});

t.test('keys fetched directly are checked, cached, persisted and served to the room server', async (t) => {
  const db = await testDatabase(t);
  let publication: (name: string) => unknown = (name) => keyPublication(name, remoteKey, NOW + DAY);
  const server = await remote(t, (name) => (request) => (request.url === '/_matrix/key/v2/server' ? { json: publication(name) } : undefined));
  const { client } = testFederationClient(t);
  const clock = fixedClock(NOW);
  const keyring = keyringOn(db, client, clock);

  const key = await keyring.verifyKey(server.name, remoteKey.keyId);
  t.same(key && [Buffer.from(key.key).toString('hex'), key.validUntilTs], [Buffer.from(remoteKey.publicKey).toString('hex'), NOW + DAY]);
  t.equal(await keyring.verifyKey(server.name, 'ed25519:unknown'), undefined, 'a key the server does not list');
  const fetches = server.seen.length;
  await keyring.verifyKey(server.name, remoteKey.keyId);
  t.equal(server.seen.length, fetches, 'a valid cached key is not fetched again');

  const restarted = keyringOn(db, client, clock);
  t.ok(await restarted.keyValidAt(server.name, remoteKey.keyId, NOW), 'a new keyring finds it in the database');
  t.equal(server.seen.length, fetches, '... without fetching');

  t.ok(await keyring.verifyKey('local.test', localKey.keyId), "this server's own key is answered locally");
  t.same((await keyring.verifyKey('local.test', 'ed25519:retired'))?.validUntilTs, NOW - DAY, 'and its old keys, valid until they expired');

  // The key expires; the server publishes a longer validity (capped at 7 days from now).
  clock.set(NOW + DAY + 1);
  publication = (name) => keyPublication(name, remoteKey, NOW + 30 * DAY);
  t.same((await keyring.keyValidAt(server.name, remoteKey.keyId, clock.now()))?.validUntilTs, clock.now() + MAX_KEY_VALIDITY_MS,
    'an expired key is refetched; validity capped at seven days');
  t.equal(server.seen.length, fetches + 1);
});

t.test('callers asking at once for an unknown server\'s key all wait for the one fetch', async (t) => {
  const db = await testDatabase(t);
  const server = await remote(t, (name) => (request) => (request.url === '/_matrix/key/v2/server' ? { json: keyPublication(name, remoteKey, NOW + DAY) } : undefined));
  const { client } = testFederationClient(t);
  // As in production: a server fetched from lately is not asked again at once.
  const keyring = keyringOn(db, client, fixedClock(NOW), [], 60_000);
  const keys = await Promise.all([1, 2, 3].map(() => keyring.verifyKey(server.name, remoteKey.keyId)));
  t.same(keys.map((key) => key?.validUntilTs), [NOW + DAY, NOW + DAY, NOW + DAY], 'every caller gets the key (the events of one send_join answer)');
  t.equal(server.seen.length, 1, 'from one fetch');
});

t.test('key answers that are forged, for another server, or expired are not believed', async (t) => {
  const db = await testDatabase(t);
  let publication: (name: string) => unknown = () => undefined;
  const server = await remote(t, (name) => () => ({ json: publication(name) }));
  const { client } = testFederationClient(t);
  const clock = fixedClock(NOW);
  const keyring = keyringOn(db, client, clock);

  publication = (name) => keyPublication(name, remoteKey, NOW + DAY, { signer: testKey('remote', 3) });
  t.equal(await keyring.verifyKey(server.name, remoteKey.keyId), undefined, 'a bad self-signature');
  publication = (name) => keyPublication(name, remoteKey, NOW + DAY, { serverNameInBody: 'other.test' });
  t.equal(await keyring.verifyKey(server.name, remoteKey.keyId), undefined, 'the wrong server_name');
  t.same(await createServerKeysStore(db.sql).serverKeys(server.name), [], 'nothing was stored');

  publication = (name) => keyPublication(name, remoteKey, NOW - 1, { old: { 'ed25519:old': { key: encodeBase64(testKey('old', 4).publicKey), expired_ts: NOW - DAY } } });
  t.equal(await keyring.keyValidAt(server.name, remoteKey.keyId, NOW), undefined, 'a key whose valid_until_ts has passed');
  t.same((await keyring.verifyKey(server.name, remoteKey.keyId))?.validUntilTs, NOW - 1, 'the room server still gets it, with its validity, for old events');
  t.same((await keyring.verifyKey(server.name, 'ed25519:old'))?.validUntilTs, NOW - DAY, 'old_verify_keys are kept with expired_ts');
  t.equal(await keyring.keyValidAt(server.name, 'ed25519:old', NOW - 2 * DAY, { currentOnly: true }), undefined, 'old keys never sign requests');
});

t.test('keys come through a notary when the server does not answer, and this server answers as a notary', async (t) => {
  const db = await testDatabase(t);
  const notaryKey = testKey('notary', 5);
  const offline = 'offline.test:1'; // nothing listens on port 1: the direct fetch fails
  let countersigner = notaryKey;
  const notary = await remoteServer(t, (request) => {
    if (request.method !== 'POST' || request.url !== '/_matrix/key/v2/query') return undefined;
    const origin = keyPublication(offline, remoteKey, NOW + DAY);
    return { json: { server_keys: [signJson(origin, notaryName, countersigner)] } };
  });
  const notaryName = `notary.test:${notary.port}`;
  const { client } = testFederationClient(t);
  const trusted = [{ serverName: notaryName, verifyKeys: { [notaryKey.keyId]: encodeBase64(notaryKey.publicKey) } }];

  countersigner = testKey('notary', 6);
  const wary = keyringOn(db, client, fixedClock(NOW), trusted);
  t.equal(await wary.verifyKey(offline, remoteKey.keyId), undefined, 'an answer the notary did not sign with its pinned key is ignored');

  countersigner = notaryKey;
  const keyring = keyringOn(db, client, fixedClock(NOW), trusted);
  t.same((await keyring.verifyKey(offline, remoteKey.keyId))?.validUntilTs, NOW + DAY, 'the key, through the notary');
  t.same(notary.seen.at(-1)!.body, { server_keys: { [offline]: { [remoteKey.keyId]: { minimum_valid_until_ts: NOW } } } },
    'the notary is asked for the key, valid until when it is needed');

  const [answer] = await keyring.notaryQuery({ [offline]: { keys: {}, minimum: NOW } });
  t.ok(answer, 'this server hands on the stored answer');
  t.ok(verifyJsonSignature(answer!, offline, remoteKey.keyId, remoteKey.publicKey), "with the origin's own signature");
  t.ok(verifyJsonSignature(answer!, 'local.test', localKey.keyId, localKey.publicKey), 'countersigned by this server');
  t.notOk((answer!.signatures as Record<string, unknown>)[notaryName], "without the other notary's signature");
  t.same(await keyring.notaryQuery({ 'unknown.test:1': { keys: {} }, 'not a name': { keys: {} } }), [], 'servers with no answer are left out');
  const [own] = await keyring.notaryQuery({ 'local.test': { keys: {} } });
  t.ok(verifyJsonSignature(own!, 'local.test', localKey.keyId, localKey.publicKey), "this server's own keys, signed");
});

t.test('as a notary: each key keeps the answer that vouched for it, an expired answer beats none, and a stale one is refetched', async (t) => {
  const db = await testDatabase(t);
  const first = testKey('first', 11);
  const second = testKey('second', 12);
  // What the origin publishes next: an answer, or a refusal.
  let publish: ((name: string) => Record<string, unknown>) | 'refuse' = (name) => keyPublication(name, first, NOW - DAY);
  const origin = await remote(t, (name) => (request) => {
    if (request.url !== '/_matrix/key/v2/server') return undefined;
    return publish === 'refuse' ? { status: 400, json: {} } : { json: publish(name) };
  });
  const fetches = () => origin.seen.filter((request) => request.url === '/_matrix/key/v2/server').length;
  const { client } = testFederationClient(t);
  // A refetch interval that never lets the keyring's own lookups fetch again: the notary asks regardless.
  const keyring = keyringOn(db, client, fixedClock(NOW), [], DAY);
  const keysIn = (answers: Record<string, unknown>[]) => answers.map((answer) => Object.keys(answer.verify_keys as object));

  t.same(keysIn(await keyring.notaryQuery({ [origin.name]: { keys: { [first.keyId]: undefined } } })), [[first.keyId]],
    'an answer that expired a day ago is handed on when it is all the origin has');
  t.equal(fetches(), 1);

  publish = (name) => keyPublication(name, second, NOW - DAY + 1000);
  t.same(keysIn(await keyring.notaryQuery({ [origin.name]: { keys: { [first.keyId]: NOW } } })), [[first.keyId]],
    'asked for a fresher first key, the origin is asked again; its answer names only a second key');
  t.equal(fetches(), 2, 'straight away: a query that asks for more than is stored is not held back');
  t.same(keysIn(await keyring.notaryQuery({ [origin.name]: { keys: { [first.keyId]: NOW - DAY } } })), [[first.keyId]],
    'the first key still has the answer that vouched for it');
  t.equal(fetches(), 2, 'which satisfies the query: no fetch');
  t.same(keysIn(await keyring.notaryQuery({ [origin.name]: { keys: {} } })).sort(), [[first.keyId], [second.keyId]].sort(),
    'no key named: every stored answer');
  t.equal(fetches(), 3, 'none of them valid now: the origin was asked again first');

  publish = 'refuse';
  const [kept] = await keyring.notaryQuery({ [origin.name]: { keys: { [first.keyId]: NOW + DAY } } });
  t.equal(fetches(), 4, 'the origin is asked, and refuses');
  t.equal(kept?.valid_until_ts, NOW - DAY, 'the stored answer is given all the same');
  t.ok(verifyJsonSignature(kept!, origin.name, first.keyId, first.publicKey), "with the origin's signature");
  t.ok(verifyJsonSignature(kept!, 'local.test', localKey.keyId, localKey.publicKey), 'countersigned');
});
