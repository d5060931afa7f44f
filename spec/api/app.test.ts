import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { createServerKeysService } from '../../src/federation/index.js';
import { decodeBase64, signingKeyFromSeed, verifyJsonSignature } from '../../src/crypto/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { UNSTABLE_FEATURES } from '../../src/protocol/versions.js';
import { testDatabase } from '../helpers/database.js';
import { accountServices, TEST_SERVER_NAME } from '../helpers/accounts.js';
import { clientRooms } from '../helpers/rooms.js';
import { syncService } from '../helpers/app.js';
import { userDataDeps } from '../helpers/user-data.js';
import { directoryDeps } from '../helpers/directory.js';

const NOW = 1_700_000_000_000;
const signingKey = signingKeyFromSeed('a_test', new Uint8Array(32).fill(7));

async function app(t: Test, wellKnownServer: string | null = null) {
  const db = await testDatabase(t);
  const { accounts, devices, accountManagement, registrationTokens, sharedSecretRegistration, clock } = accountServices(db);
  const userData = userDataDeps(db);
  const instance = await buildApp({
    log: silentLogger(),
    serverName: TEST_SERVER_NAME,
    accounts,
    devices,
    accountManagement,
    registrationTokens,
    rooms: clientRooms(db),
    ...userData,
    ...directoryDeps(db),
    sync: syncService(db, clock, userData.filters),
    sharedSecretRegistration,
    version: '1.2.3',
    maxJsonBodyBytes: 65536,
    trustProxy: false,
    serverKeys: createServerKeysService({
      serverName: 'hearth.test',
      signingKey,
      oldVerifyKeys: { 'ed25519:old': { key: 'b2xka2V5', expired_ts: NOW - 1000 } },
      validForMs: 86_400_000,
      clock: fixedClock(NOW),
    }),
    wellKnown: {
      clientBaseUrl: 'https://matrix.hearth.test/',
      clientExtra: { 'm.identity_server': { base_url: 'https://id.example' } },
      server: wellKnownServer,
      ...(wellKnownServer === null
        ? {}
        : { support: { contacts: [{ matrix_id: '@admin:hearth.test', role: 'm.role.admin' }], supportPage: 'https://hearth.test/help' } }),
    },
  });
  t.teardown(() => instance.close());
  return instance;
}

t.test('GET /_matrix/key/v2/server publishes a key that verifies its own answer', async (t) => {
  const res = await (await app(t)).inject({ method: 'GET', url: '/_matrix/key/v2/server' });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.server_name, 'hearth.test');
  t.equal(body.valid_until_ts, NOW + 86_400_000);
  t.same(body.old_verify_keys, { 'ed25519:old': { key: 'b2xka2V5', expired_ts: NOW - 1000 } });
  const published = body.verify_keys[signingKey.keyId];
  t.ok(published, 'the current key is published under its key id');
  t.ok(
    verifyJsonSignature(body, 'hearth.test', signingKey.keyId, decodeBase64(published.key)),
    'the response is signed by the key it publishes',
  );
  const tampered = { ...body, valid_until_ts: body.valid_until_ts + 1 };
  t.notOk(verifyJsonSignature(tampered, 'hearth.test', signingKey.keyId, decodeBase64(published.key)));
});

t.test('GET /_matrix/key/v2/server/{keyId} (the deprecated form) answers the same publication, whatever key it names', async (t) => {
  const server = await app(t);
  const whole = (await server.inject({ method: 'GET', url: '/_matrix/key/v2/server' })).json();
  for (const keyId of [signingKey.keyId, 'ed25519:unknown']) {
    const res = await server.inject({ method: 'GET', url: `/_matrix/key/v2/server/${encodeURIComponent(keyId)}` });
    t.equal(res.statusCode, 200, keyId);
    t.same(res.json(), whole, `${keyId}: every key, signed`);
  }
});

t.test('GET /_matrix/client/versions lists the spec versions served, from r0.6.1 to v1.19', async (t) => {
  const res = await (await app(t)).inject({ method: 'GET', url: '/_matrix/client/versions' });
  t.equal(res.statusCode, 200);
  const body = res.json() as { versions: string[]; unstable_features: Record<string, boolean> };
  t.equal(body.versions[0], 'r0.6.1');
  t.equal(body.versions.at(-1), 'v1.19');
  t.ok(['v1.1', 'v1.4', 'v1.11'].every((version) => body.versions.includes(version)), 'threads (v1.4) and authenticated media (v1.11) among them');
  t.same(body.unstable_features, { ...UNSTABLE_FEATURES });
});

t.test('GET /_matrix/federation/v1/version names Hearth', async (t) => {
  const res = await (await app(t)).inject({ method: 'GET', url: '/_matrix/federation/v1/version' });
  t.same(res.json(), { server: { name: 'Hearth', version: '1.2.3' } });
});

t.test('the well-known files come from the configuration', async (t) => {
  const withoutDelegation = await app(t);
  const client = await withoutDelegation.inject({ method: 'GET', url: '/.well-known/matrix/client' });
  t.same(client.json(), {
    'm.homeserver': { base_url: 'https://matrix.hearth.test/' },
    'm.identity_server': { base_url: 'https://id.example' },
  });
  t.equal(client.headers['access-control-allow-origin'], '*', 'browser clients can read it');
  const noServer = await withoutDelegation.inject({ method: 'GET', url: '/.well-known/matrix/server' });
  t.equal(noServer.statusCode, 404);
  t.equal(noServer.json().errcode, 'M_NOT_FOUND');

  const delegated = await app(t, 'matrix.hearth.test:443');
  const server = await delegated.inject({ method: 'GET', url: '/.well-known/matrix/server' });
  t.same(server.json(), { 'm.server': 'matrix.hearth.test:443' });

  const noSupport = await withoutDelegation.inject({ method: 'GET', url: '/.well-known/matrix/support' });
  t.same([noSupport.statusCode, noSupport.json().errcode], [404, 'M_NOT_FOUND'], 'no support contacts configured: 404');
  const support = await delegated.inject({ method: 'GET', url: '/.well-known/matrix/support' });
  t.same(support.json(), { contacts: [{ matrix_id: '@admin:hearth.test', role: 'm.role.admin' }], support_page: 'https://hearth.test/help' });
  t.equal(support.headers['access-control-allow-origin'], '*');
});

t.test('the real routes answer wrong methods with 405', async (t) => {
  const res = await (await app(t)).inject({ method: 'PUT', url: '/_matrix/key/v2/server', payload: {} });
  t.equal(res.statusCode, 405);
  t.equal(res.json().errcode, 'M_UNRECOGNIZED');
});
