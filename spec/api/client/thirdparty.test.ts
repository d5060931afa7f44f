import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from '../../../src/api/plumbing/http-app.js';
import { thirdPartyRoutes } from '../../../src/api/client/thirdparty.js';
import { AppServices, createAppServiceAuth, parseRegistration } from '../../../src/appservice/index.js';
import { createAppServiceClient } from '../../../src/appservice/client.js';
import { createThirdPartyLookups } from '../../../src/appservice/thirdparty.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { createHttpClient } from '../../../src/platform/http-client.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { parseServerName, type UserId } from '../../../src/protocol/index.js';

const SERVER = parseServerName('hearth.test');
const ALICE = '@alice:hearth.test' as UserId;

interface Seen {
  readonly path: string;
  readonly query: Record<string, string | string[]>;
}

type Answer = { status: number; body: unknown } | 'hang';

/**
 * A fake application service: answers GETs from `answers` by path (without the query), refuses any
 * request without its hs_token, and records what it was asked.
 */
async function fakeService(t: Test, hsToken: string, answers: Record<string, Answer>) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${hsToken}`) return reply(403, { errcode: 'M_FORBIDDEN' });
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length === 1 ? values[0]! : values;
    }
    seen.push({ path: url.pathname, query });
    const answer = answers[url.pathname];
    if (answer === 'hang') return;
    if (answer === undefined) return reply(404, { errcode: 'M_UNRECOGNIZED' });
    reply(answer.status, answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, answers };
}

function registration(id: string, url: string | null, protocols: string[], namespaces: Record<string, unknown> = {}) {
  return parseRegistration({
    id,
    url,
    as_token: `as-${id}`,
    hs_token: `hs-${id}`,
    sender_localpart: `${id}-bot`,
    namespaces,
    protocols,
  }, SERVER);
}

/** The third-party routes behind Hearth's plumbing; alice's token is `alice-token`. */
async function thirdPartyApp(t: Test, services: AppServices, clock = fixedClock(1_700_000_000_000)) {
  const http = createHttpClient({ log: silentLogger(), userAgent: 'hearth-test', timeoutMs: 5_000, maxResponseBytes: 1 << 20 });
  t.teardown(() => http.close());
  const client = createAppServiceClient({ http, now: () => clock.now() });
  const lookups = createThirdPartyLookups({ services, client, clock, log: silentLogger(), timeoutMs: 500 });
  const auth = createAppServiceAuth({ services, activeUser: async () => true, deviceExists: async () => true });
  const app = await createHttpApp({
    log: silentLogger(),
    maxJsonBodyBytes: 65536,
    trustProxy: false,
    authenticator: async (token, request) =>
      (await auth.authenticate(token, request.actAs)) ?? (token === 'alice-token' ? { userId: ALICE, deviceId: null, isGuest: false } : undefined),
  }, async (app) => {
    await app.register(thirdPartyRoutes(lookups));
  });
  t.teardown(() => app.close());
  /** token null: the URL carries it. */
  const get = async (url: string, token: string | null = 'alice-token') => {
    const res = await app.inject({ method: 'GET', url: `/_matrix/client/v3${url}`, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, body: res.json() };
  };
  return { app: app as FastifyInstance, get, clock };
}

const V1 = '/_matrix/app/v1/thirdparty';

const ymca = (desc: string, networkId?: string) => ({ desc, ...(networkId === undefined ? {} : { network_id: networkId }), fields: {} });

t.test('protocols: each declared protocol, its instances merged across the services declaring it', async (t) => {
  const irc = await fakeService(t, 'hs-irc', {
    [`${V1}/protocol/ymca`]: { status: 200, body: { user_fields: ['field1', 'field2'], location_fields: ['field3'], icon: 'mxc://1234/56/7', field_types: {}, instances: [ymca('instance 1', 'freenode'), ymca('instance 2', 'libera')] } },
  });
  // Speaks only the legacy paths of older bridges.
  const legacy = await fakeService(t, 'hs-legacy', {
    '/_matrix/app/unstable/thirdparty/protocol/ymca': { status: 200, body: { user_fields: ['other'], location_fields: [], icon: 'mxc://x/y', field_types: {}, instances: [ymca('instance 3', 'oftc')] } },
  });
  const broken = await fakeService(t, 'hs-broken', { [`${V1}/protocol/ymca`]: { status: 500, body: { errcode: 'M_UNKNOWN' } } });
  const nonsense = await fakeService(t, 'hs-nonsense', { [`${V1}/protocol/gitter`]: { status: 200, body: [] } });
  const slow = await fakeService(t, 'hs-slow', { [`${V1}/protocol/slack`]: 'hang' });
  const services = new AppServices([
    registration('irc', irc.url, ['ymca']),
    registration('legacy', legacy.url, ['ymca']),
    registration('broken', broken.url, ['ymca']),
    registration('nonsense', nonsense.url, ['gitter']),
    registration('slow', slow.url, ['slack']),
    registration('gone', 'http://127.0.0.1:1', ['discord']),
    registration('quiet', null, ['matrix-quiet']),
  ], SERVER);
  const { get } = await thirdPartyApp(t, services);

  const expected = {
    user_fields: ['field1', 'field2'],
    location_fields: ['field3'],
    icon: 'mxc://1234/56/7',
    field_types: {},
    instances: [
      { desc: 'instance 1', network_id: 'freenode', fields: {}, instance_id: 'irc|freenode' },
      { desc: 'instance 2', network_id: 'libera', fields: {}, instance_id: 'irc|libera' },
      { desc: 'instance 3', network_id: 'oftc', fields: {}, instance_id: 'legacy|oftc' },
    ],
  };
  const all = await get('/thirdparty/protocols');
  t.same(all, { status: 200, body: { ymca: expected } },
    'the first service\'s fields with every service\'s instances; failing, silent, unreachable and slow services are left out');
  t.same(await get('/thirdparty/protocol/ymca'), { status: 200, body: expected }, 'one protocol');

  const unknown = await get('/thirdparty/protocol/nope');
  t.same([unknown.status, unknown.body.errcode], [404, 'M_NOT_FOUND'], 'a protocol no bridge declares');
  const down = await get('/thirdparty/protocol/discord');
  t.same([down.status, down.body.errcode], [404, 'M_NOT_FOUND'], 'a protocol whose bridge is down');

  const anonymous = await get('/thirdparty/protocols', 'nobody');
  t.same([anonymous.status, anonymous.body.errcode], [401, 'M_UNKNOWN_TOKEN'], 'an access token is needed');
});

t.test('protocol metadata is kept a while, a failure is not', async (t) => {
  const irc = await fakeService(t, 'hs-irc', {
    [`${V1}/protocol/ymca`]: { status: 200, body: { instances: [ymca('first', 'freenode')] } },
    [`${V1}/protocol/gitter`]: { status: 503, body: {} },
  });
  const services = new AppServices([registration('irc', irc.url, ['ymca', 'gitter'])], SERVER);
  const { get, clock } = await thirdPartyApp(t, services);

  t.same((await get('/thirdparty/protocols')).body, { ymca: { instances: [{ ...ymca('first', 'freenode'), instance_id: 'irc|freenode' }] } });
  irc.answers[`${V1}/protocol/ymca`] = { status: 200, body: { instances: [ymca('second', 'libera')] } };
  irc.answers[`${V1}/protocol/gitter`] = { status: 200, body: { instances: [] } };
  clock.advance(60_000);
  t.same((await get('/thirdparty/protocol/ymca')).body.instances.map((i: { desc: string }) => i.desc), ['first'], 'a minute later: the kept answer');
  t.same((await get('/thirdparty/protocol/gitter')).body, { instances: [] }, 'the failed protocol is asked again');
  clock.advance(10 * 60_000);
  t.same((await get('/thirdparty/protocol/ymca')).body.instances.map((i: { desc: string }) => i.desc), ['second'], 'later: asked again');
});

t.test('user and location lookups: fields passed on, results of every bridge concatenated', async (t) => {
  const results = {
    user: { protocol: 'ymca', fields: { field1: 'result' }, userid: '@remote-user:bridged.example.com' },
    location: { protocol: 'ymca', fields: { field3: 'result' }, alias: '#remote-room:bridged.example.com' },
  };
  const one = await fakeService(t, 'hs-one', {
    [`${V1}/user/ymca`]: { status: 200, body: [results.user, { protocol: 'ymca', userid: 42, fields: {} }] },
    [`${V1}/location/ymca`]: { status: 200, body: [results.location] },
  });
  const two = await fakeService(t, 'hs-two', {
    [`${V1}/user/ymca`]: { status: 200, body: [] },
    [`${V1}/location/ymca`]: { status: 200, body: [{ ...results.location, alias: '#other:bridged.example.com' }] },
  });
  const slow = await fakeService(t, 'hs-slow', { [`${V1}/user/ymca`]: 'hang', [`${V1}/location/ymca`]: { status: 200, body: { not: 'a list' } } });
  const services = new AppServices([
    registration('one', one.url, ['ymca']),
    registration('two', two.url, ['ymca']),
    registration('slow', slow.url, ['ymca']),
    registration('other', two.url, ['gitter']),
  ], SERVER);
  const { get } = await thirdPartyApp(t, services);

  const users = await get('/thirdparty/user/ymca?field1=ONE&field2=TWO&access_token=alice-token', null);
  t.same(users, { status: 200, body: [results.user] }, 'malformed results and a bridge that hangs are left out');
  t.same(one.seen.find((s) => s.path === `${V1}/user/ymca`)?.query, { field1: 'ONE', field2: 'TWO' },
    'the bridge gets the fields, not the access token');

  const locations = await get('/thirdparty/location/ymca?field3=THREE&field3=FOUR');
  t.same(locations, { status: 200, body: [results.location, { ...results.location, alias: '#other:bridged.example.com' }] }, 'both bridges\' rooms');
  t.same(two.seen.find((s) => s.path === `${V1}/location/ymca`)?.query, { field3: ['THREE', 'FOUR'] }, 'a repeated field is passed on repeated');
  t.notOk(two.seen.some((s) => s.path.includes('gitter')), 'a bridge of another protocol is not asked');

  const unknown = await get('/thirdparty/user/nope?x=1');
  t.same([unknown.status, unknown.body.errcode], [404, 'M_NOT_FOUND'], 'an unknown protocol');

  // A bridge asking with its as_token and asserting a user: the assertion is not a lookup field.
  await get('/thirdparty/user/ymca?name=bob&user_id=%40one-bot%3Ahearth.test', 'as-one');
  t.same(one.seen.at(-1)?.query, { name: 'bob' }, 'user_id of an application service request is not passed on');
});

t.test('reverse lookups ask the bridges whose namespaces cover the alias or user', async (t) => {
  const irc = await fakeService(t, 'hs-irc', {
    [`${V1}/location`]: { status: 200, body: [{ protocol: 'irc', alias: '#irc_matrix:hearth.test', fields: { channel: '#matrix' } }] },
    [`${V1}/user`]: { status: 200, body: [{ protocol: 'irc', userid: '@irc_bob:hearth.test', fields: { nick: 'bob' } }] },
  });
  const slack = await fakeService(t, 'hs-slack', {});
  const services = new AppServices([
    registration('irc', irc.url, ['irc'], { users: [{ regex: '@irc_.*', exclusive: true }], aliases: [{ regex: '#irc_.*', exclusive: true }] }),
    registration('slack', slack.url, ['slack'], { users: [{ regex: '@slack_.*', exclusive: true }], aliases: [{ regex: '#slack_.*', exclusive: true }] }),
  ], SERVER);
  const { get } = await thirdPartyApp(t, services);

  t.same(await get(`/thirdparty/location?alias=${encodeURIComponent('#irc_matrix:hearth.test')}`),
    { status: 200, body: [{ protocol: 'irc', alias: '#irc_matrix:hearth.test', fields: { channel: '#matrix' } }] });
  t.same(irc.seen.at(-1), { path: `${V1}/location`, query: { alias: '#irc_matrix:hearth.test' } });
  t.same(await get(`/thirdparty/user?userid=${encodeURIComponent('@irc_bob:hearth.test')}`),
    { status: 200, body: [{ protocol: 'irc', userid: '@irc_bob:hearth.test', fields: { nick: 'bob' } }] });
  t.same(await get(`/thirdparty/user?userid=${encodeURIComponent('@carol:hearth.test')}`), { status: 200, body: [] }, 'nobody bridges carol');
  t.same(slack.seen, [], 'the other bridge is not asked');

  const missing = await get('/thirdparty/location');
  t.same([missing.status, missing.body.errcode], [400, 'M_INVALID_PARAM'], 'alias is required');
});
