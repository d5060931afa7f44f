import t from 'tap';
import {
  cacheLifetime,
  createServerResolver,
  isPrivateAddress,
  readWellKnown,
  type SrvRecord,
  type WellKnownResponse,
} from '../../src/federation/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import type { ServerName } from '../../src/protocol/index.js';

const NOW = 1_700_000_000_000;
const HOUR = 3600_000;

function wellKnown(json: unknown, headers: Record<string, string> = {}, status = 200): WellKnownResponse {
  return { status, headers, body: new TextEncoder().encode(typeof json === 'string' ? json : JSON.stringify(json)) };
}

/** A resolver over scripted answers, counting the lookups it makes. */
function scripted(answers: { wellKnown?: Record<string, WellKnownResponse | undefined>; srv?: Record<string, SrvRecord[]> }) {
  const clock = fixedClock(NOW);
  const calls = { wellKnown: [] as string[], srv: [] as string[] };
  const resolver = createServerResolver({
    clock,
    fetchWellKnown: async (host) => {
      calls.wellKnown.push(host);
      return answers.wellKnown?.[host];
    },
    lookupSrv: async (name) => {
      calls.srv.push(name);
      return answers.srv?.[name] ?? [];
    },
  });
  return { resolver, clock, calls, resolve: (name: string) => resolver.resolve(name as ServerName) };
}

t.test('IP literals and explicit ports decide without any lookup', async (t) => {
  const { resolve, calls } = scripted({});
  t.same(await resolve('1.2.3.4'), { host: '1.2.3.4', port: 8448, hostHeader: '1.2.3.4', tlsName: null });
  t.same(await resolve('1.2.3.4:8000'), { host: '1.2.3.4', port: 8000, hostHeader: '1.2.3.4:8000', tlsName: null });
  t.same(await resolve('[2001:db8::1]:8000'), { host: '2001:db8::1', port: 8000, hostHeader: '[2001:db8::1]:8000', tlsName: null });
  t.same(await resolve('example.org:1234'), { host: 'example.org', port: 1234, hostHeader: 'example.org:1234', tlsName: 'example.org' });
  t.same(calls, { wellKnown: [], srv: [] }, 'no well-known, no SRV');
});

t.test('well-known delegation: with a port, to an IP, and without a port (then SRV on the delegated name)', async (t) => {
  const { resolve, calls } = scripted({
    wellKnown: {
      'a.example': wellKnown({ 'm.server': 'matrix.a.example:443' }),
      'b.example': wellKnown({ 'm.server': '5.6.7.8' }),
      'c.example': wellKnown({ 'm.server': 'fed.c.example' }),
      'd.example': wellKnown({ 'm.server': 'fed.d.example' }),
    },
    srv: { '_matrix-fed._tcp.fed.c.example': [{ name: 'node1.c.example', port: 8449, priority: 10, weight: 5 }] },
  });
  t.same(await resolve('a.example'), { host: 'matrix.a.example', port: 443, hostHeader: 'matrix.a.example:443', tlsName: 'matrix.a.example' });
  t.same(await resolve('b.example'), { host: '5.6.7.8', port: 8448, hostHeader: '5.6.7.8', tlsName: null });
  t.same(await resolve('c.example'), { host: 'node1.c.example', port: 8449, hostHeader: 'fed.c.example', tlsName: 'fed.c.example' },
    'SRV target and port; Host and certificate stay the delegated name');
  t.same(await resolve('d.example'), { host: 'fed.d.example', port: 8448, hostHeader: 'fed.d.example', tlsName: 'fed.d.example' },
    'no SRV: the delegated name on 8448');
  t.same(calls.srv, ['_matrix-fed._tcp.fed.c.example', '_matrix-fed._tcp.fed.d.example', '_matrix._tcp.fed.d.example']);
});

t.test('without a usable well-known: SRV _matrix-fed, then the deprecated _matrix, then 8448', async (t) => {
  const { resolve } = scripted({
    wellKnown: {
      'bad-json.example': wellKnown('{not json'),
      'not-found.example': wellKnown({ errcode: 'M_NOT_FOUND' }, {}, 404),
      'bad-name.example': wellKnown({ 'm.server': 'no spaces allowed' }),
    },
    srv: {
      '_matrix-fed._tcp.srv.example': [
        { name: 'backup.srv.example', port: 9000, priority: 20, weight: 100 },
        { name: 'light.srv.example', port: 9001, priority: 10, weight: 1 },
        { name: 'heavy.srv.example.', port: 9002, priority: 10, weight: 50 },
      ],
      '_matrix._tcp.old.example': [{ name: 'legacy.old.example', port: 8500, priority: 0, weight: 0 }],
      '_matrix-fed._tcp.bad-json.example': [{ name: 'x.bad-json.example', port: 1, priority: 0, weight: 0 }],
    },
  });
  t.same(await resolve('srv.example'), { host: 'heavy.srv.example', port: 9002, hostHeader: 'srv.example', tlsName: 'srv.example' },
    'lowest priority, then highest weight; Host and certificate are the server name');
  t.same(await resolve('old.example'), { host: 'legacy.old.example', port: 8500, hostHeader: 'old.example', tlsName: 'old.example' });
  t.same(await resolve('plain.example'), { host: 'plain.example', port: 8448, hostHeader: 'plain.example', tlsName: 'plain.example' });
  t.same((await resolve('bad-json.example')).host, 'x.bad-json.example', 'bad JSON falls through to SRV');
  t.same((await resolve('not-found.example')).port, 8448, 'a 404 falls through');
  t.same((await resolve('bad-name.example')).host, 'bad-name.example', 'an invalid m.server falls through');
});

t.test('well-known answers are cached per Cache-Control, 24 h by default, 48 h at most, errors 1 h', async (t) => {
  t.equal(cacheLifetime({}, NOW), 24 * HOUR);
  t.equal(cacheLifetime({ 'cache-control': 'public, max-age=600' }, NOW), 600_000);
  t.equal(cacheLifetime({ 'cache-control': 'max-age=9999999' }, NOW), 48 * HOUR, 'capped at 48 h');
  t.equal(cacheLifetime({ 'cache-control': 'no-store' }, NOW), 0);
  t.equal(cacheLifetime({ expires: new Date(NOW + 2 * HOUR).toUTCString() }, NOW), 2 * HOUR);
  t.equal(readWellKnown(undefined, NOW).expiresAt, NOW + HOUR, 'no answer: an hour');
  t.equal(readWellKnown(wellKnown({}, {}, 500), NOW).expiresAt, NOW + HOUR, 'an error: an hour');

  let delegate = 'one.example:443';
  const clock = fixedClock(NOW);
  let fetches = 0;
  const resolver = createServerResolver({
    clock,
    fetchWellKnown: async () => {
      fetches++;
      return wellKnown({ 'm.server': delegate }, { 'cache-control': 'max-age=1800' });
    },
    lookupSrv: async () => [],
  });
  const name = 'cached.example' as ServerName;
  t.equal((await resolver.resolve(name)).host, 'one.example');
  delegate = 'two.example:443';
  clock.advance(1799_000);
  t.equal((await resolver.resolve(name)).host, 'one.example', 'still cached before max-age');
  t.equal(fetches, 1);
  clock.advance(2_000);
  t.equal((await resolver.resolve(name)).host, 'two.example', 'fetched again after max-age');
  t.equal(fetches, 2);
  resolver.forget(name);
  await resolver.resolve(name);
  t.equal(fetches, 3, 'forget() drops the cache');
});

t.test('a failed well-known is retried after an hour, not before', async (t) => {
  const clock = fixedClock(NOW);
  let fetches = 0;
  const resolver = createServerResolver({ clock, fetchWellKnown: async () => (fetches++, undefined), lookupSrv: async () => { throw new Error('DNS down'); } });
  const name = 'down.example' as ServerName;
  t.same(await resolver.resolve(name), { host: 'down.example', port: 8448, hostHeader: 'down.example', tlsName: 'down.example' },
    'a DNS failure counts as no SRV record');
  clock.advance(HOUR - 1);
  await resolver.resolve(name);
  t.equal(fetches, 1);
  clock.advance(2);
  await resolver.resolve(name);
  t.equal(fetches, 2);
});

t.test('private, loopback and link-local addresses are recognised', async (t) => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'fc12::3', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1',
    '[::1]', 'not-an-ip']) {
    t.ok(isPrivateAddress(address), `${address} is refused`);
  }
  for (const address of ['8.8.8.8', '172.32.0.1', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '[2606:4700::1111]']) {
    t.notOk(isPrivateAddress(address), `${address} is allowed`);
  }
});
