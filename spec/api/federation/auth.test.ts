import t, { type Test } from 'tap';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { encodeBase64, signBytes, signingKeyFromSeed, verifyJsonSignature } from '../../../src/crypto/index.js';
import { createServerKeysService, formatXMatrix, signRequest, type Keyring, type NotaryCriteria } from '../../../src/federation/index.js';
import { createHttpApp } from '../../../src/api/plumbing/http-app.js';
import { route } from '../../../src/api/plumbing/route.js';
import { federationRoute, installFederationAuth } from '../../../src/api/federation/auth.js';
import { keyQueryRoutes } from '../../../src/api/keys/query.js';
import { defineEndpoint } from '../../../src/protocol/endpoint.js';
import { getFederationVersion } from '../../../src/protocol/endpoints/federation.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';

const NOW = 1_700_000_000_000;
const OURS = 'hearth.test';
const remoteKey = signingKeyFromSeed('r1', new Uint8Array(32).fill(3));
const otherKey = signingKeyFromSeed('r1', new Uint8Array(32).fill(4));

const echoOrigin = defineEndpoint({
  name: 'testEcho',
  method: 'PUT',
  path: '/_matrix/federation/v1/test/{txnId}',
  auth: 'federation',
  params: Type.Object({ txnId: Type.String() }),
  body: Type.Object({ n: Type.Integer() }),
  response: Type.Object({ origin: Type.String(), n: Type.Integer() }),
});
const getOrigin = defineEndpoint({
  name: 'testGet',
  method: 'GET',
  path: '/_matrix/federation/v1/whoami',
  auth: 'federation',
  response: Type.Object({ origin: Type.String() }),
});
/** Mounted with auth 'none' by mistake: the path alone puts it behind the check. */
const careless = defineEndpoint({ name: 'careless', method: 'GET', path: '/_matrix/federation/v1/careless', auth: 'none', response: Type.Object({}) });

/** The keyring as the hook sees it: remote.test has one current key. */
const keys: Pick<Keyring, 'keyValidAt'> = {
  keyValidAt: async (server, keyId, _ts, options) =>
    server === 'remote.test' && keyId === remoteKey.keyId && options?.currentOnly ? { key: remoteKey.publicKey, validUntilTs: NOW + 1 } : undefined,
};

async function app(t: Test, withFederation = true): Promise<FastifyInstance> {
  const server = await createHttpApp({ log: silentLogger(), maxJsonBodyBytes: 65536, trustProxy: false }, async (app) => {
    installFederationAuth(app, withFederation ? { serverName: OURS, keys, clock: fixedClock(NOW) } : null);
    await app.register(async (scope) => {
      federationRoute(scope, echoOrigin, ({ origin, body }) => ({ origin, n: body.n }));
      federationRoute(scope, getOrigin, ({ origin, request }) => ({ origin: `${origin}|${request.federationOrigin}` }));
      route(scope, careless, () => ({}));
      route(scope, getFederationVersion, () => ({ server: { name: 'Hearth', version: '0' } }));
    });
  });
  t.teardown(() => server.close());
  return server;
}

function signed(method: string, url: string, body?: unknown, options: { key?: typeof remoteKey; destination?: string; signedDestination?: string } = {}) {
  const header = signRequest(
    { method, uri: url, origin: 'remote.test', destination: options.signedDestination ?? options.destination ?? OURS, ...(body === undefined ? {} : { content: body }) },
    options.key ?? remoteKey,
  );
  return options.destination === undefined ? header : header.replace(/destination="[^"]*"/, `destination="${options.destination}"`);
}

t.test('a correctly signed request reaches the handler with its origin', async (t) => {
  const server = await app(t);
  const put = await server.inject({ method: 'PUT', url: '/_matrix/federation/v1/test/t%201?x=1', payload: { n: 5 }, headers: { authorization: signed('PUT', '/_matrix/federation/v1/test/t%201?x=1', { n: 5 }) } });
  t.equal(put.statusCode, 200, put.body);
  t.same(put.json(), { origin: 'remote.test', n: 5 });
  const get = await server.inject({ method: 'GET', url: '/_matrix/federation/v1/whoami', headers: { authorization: signed('GET', '/_matrix/federation/v1/whoami') } });
  t.same(get.json(), { origin: 'remote.test|remote.test' }, 'request.federationOrigin is set too');
  const old = signed('GET', '/_matrix/federation/v1/whoami').replace(/destination="[^"]*",/, '');
  t.equal((await server.inject({ method: 'GET', url: '/_matrix/federation/v1/whoami', headers: { authorization: old } })).statusCode, 200,
    'a header without destination (servers before v1.3) is accepted');
});

t.test('bad signatures, wrong destinations, missing headers and unknown keys are 401 M_UNAUTHORIZED; unreadable headers 400', async (t) => {
  const server = await app(t);
  const url = '/_matrix/federation/v1/test/1';
  const unreadable: Array<[string, string, RegExp]> = [
    ['a Bearer token', 'Bearer abc', /Malformed X-Matrix/],
    ['an origin with a non-numeric port', signed('PUT', url, { n: 1 }).replace('origin="remote.test"', 'origin="localhost:http"'), /not a valid server name/],
  ];
  for (const [name, authorization, message] of unreadable) {
    const res = await server.inject({ method: 'PUT', url, payload: { n: 1 }, headers: { authorization } });
    t.equal(res.statusCode, 400, name);
    t.match(res.json(), { errcode: 'M_UNAUTHORIZED', error: message }, name);
  }
  const cases: Array<[string, Record<string, string>, unknown, RegExp]> = [
    ['no header', {}, { n: 1 }, /X-Matrix Authorization header/],
    ['a tampered body', { authorization: signed('PUT', url, { n: 1 }) }, { n: 2 }, /signature does not verify/],
    ['another path', { authorization: signed('PUT', '/_matrix/federation/v1/test/2', { n: 1 }) }, { n: 1 }, /signature does not verify/],
    ['signed by another key', { authorization: signed('PUT', url, { n: 1 }, { key: otherKey }) }, { n: 1 }, /signature does not verify/],
    ['addressed to another server', { authorization: signed('PUT', url, { n: 1 }, { destination: 'other.test' }) }, { n: 1 }, /addressed to another server/],
    ['signed for another server, header rewritten', { authorization: signed('PUT', url, { n: 1 }, { signedDestination: 'other.test' }).replace('other.test', OURS) }, { n: 1 }, /does not verify/],
    ['an unknown key', { authorization: signed('PUT', url, { n: 1 }).replace('ed25519:r1', 'ed25519:nope') }, { n: 1 }, /Could not get a current key ed25519:nope/],
    ['an unknown origin', { authorization: signed('PUT', url, { n: 1 }).replace('origin="remote.test"', 'origin="stranger.test"') }, { n: 1 }, /stranger\.test/],
  ];
  for (const [name, headers, payload, message] of cases) {
    const res = await server.inject({ method: 'PUT', url, payload: payload as object, headers });
    t.equal(res.statusCode, 401, name);
    t.match(res.json(), { errcode: 'M_UNAUTHORIZED', error: message }, name);
  }
  const careless = await server.inject({ method: 'GET', url: '/_matrix/federation/v1/careless' });
  t.equal(careless.statusCode, 401, 'a federation path mounted without auth is still checked');
  const version = await server.inject({ method: 'GET', url: '/_matrix/federation/v1/version' });
  t.equal(version.statusCode, 200, '/version needs no signature');
});

t.test('a signed body holding a float is authenticated, for the endpoint to judge', async (t) => {
  const server = await app(t);
  const url = '/_matrix/federation/v1/test/1';
  const payload = { n: 1.5 };
  // Signed as Synapse would: the float written as JSON writes it (Hearth never signs such a body itself).
  const signedJson = `{"content":{"n":1.5},"destination":"${OURS}","method":"PUT","origin":"remote.test","uri":"${url}"}`;
  const authorization = formatXMatrix({ origin: 'remote.test', destination: OURS, key: remoteKey.keyId, sig: encodeBase64(signBytes(remoteKey, signedJson)) });
  const res = await server.inject({ method: 'PUT', url, payload, headers: { authorization } });
  t.equal(res.statusCode, 400, 'the signature over {"n":1.5} verifies ...');
  t.equal(res.json().errcode, 'M_BAD_JSON', '... and the endpoint refuses the float (its body wants an integer)');
  const tampered = await server.inject({ method: 'PUT', url, payload: { n: 1.25 }, headers: { authorization } });
  t.equal(tampered.statusCode, 401, 'and a changed float does not');
});

t.test('an app without federation refuses every signed federation request', async (t) => {
  const server = await app(t, false);
  const res = await server.inject({ method: 'GET', url: '/_matrix/federation/v1/whoami', headers: { authorization: signed('GET', '/_matrix/federation/v1/whoami') } });
  t.equal(res.statusCode, 401);
  t.equal((await server.inject({ method: 'GET', url: '/_matrix/federation/v1/version' })).statusCode, 200);
});

t.test('federationRoute refuses contracts outside the checked paths', async (t) => {
  const outside = defineEndpoint({ name: 'outside', method: 'GET', path: '/_matrix/key/v2/x', auth: 'federation', response: Type.Object({}) });
  await t.rejects(createHttpApp({ log: silentLogger(), maxJsonBodyBytes: 1024, trustProxy: false }, async (app) => {
    installFederationAuth(app, null);
    federationRoute(app, outside, () => ({}));
  }), /not a path the X-Matrix check covers/);
  await t.rejects(createHttpApp({ log: silentLogger(), maxJsonBodyBytes: 1024, trustProxy: false }, async (app) => {
    route(app, getOrigin, () => ({ origin: '' }));
  }), /needs the X-Matrix check/, 'route() refuses a federation contract when no check is installed');
});

t.test('the notary endpoints answer with countersigned keys', async (t) => {
  const clock = fixedClock(NOW);
  const ourKey = signingKeyFromSeed('own', new Uint8Array(32).fill(8));
  const ownKeys = createServerKeysService({ serverName: OURS, signingKey: ourKey, oldVerifyKeys: {}, validForMs: 3600_000, clock });
  const asked: Array<Readonly<Record<string, NotaryCriteria>>> = [];
  const server = await createHttpApp({ log: silentLogger(), maxJsonBodyBytes: 65536, trustProxy: false }, async (app) => {
    await app.register(keyQueryRoutes({
      notaryQuery: async (criteria) => {
        asked.push(criteria);
        return Object.keys(criteria).includes(OURS) ? [ownKeys.serverKeys()] : [];
      },
    }));
  });
  t.teardown(() => server.close());
  const get = await server.inject({ method: 'GET', url: `/_matrix/key/v2/query/${OURS}?minimum_valid_until_ts=${NOW + 5}` });
  t.equal(get.statusCode, 200, get.body);
  const [keys] = (get.json() as { server_keys: Array<Record<string, unknown>> }).server_keys;
  t.ok(verifyJsonSignature(keys!, OURS, ourKey.keyId, ourKey.publicKey));
  const post = await server.inject({ method: 'POST', url: '/_matrix/key/v2/query', payload: {
    server_keys: { 'a.test': { 'ed25519:x': { minimum_valid_until_ts: 10 }, 'ed25519:y': { minimum_valid_until_ts: 20 } }, 'b.test': {} },
  } });
  t.same(post.json(), { server_keys: [] });
  t.same(asked, [
    { [OURS]: { keys: {}, minimum: NOW + 5 } },
    { 'a.test': { keys: { 'ed25519:x': 10, 'ed25519:y': 20 } }, 'b.test': { keys: {} } },
  ], 'each key asked about with its own minimum; none named: any key');
  const byId = await server.inject({ method: 'GET', url: `/_matrix/key/v2/query/${OURS}/${encodeURIComponent(ourKey.keyId)}` });
  t.equal(byId.statusCode, 200, 'the deprecated form with a key id is answered');
  t.same(byId.json(), get.json(), 'with the same publication');
});
