import t from 'tap';
import { createKeysService, createRemoteDeviceLists, createRemoteKeys, createToDeviceService, type KeyStore } from '../../src/e2ee/index.js';
import { FederationRequestError, type FederationClient } from '../../src/federation/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { MatrixError, parseServerName, type DeviceId, type UserId } from '../../src/protocol/index.js';
import { createRemotePublicRooms, createRoomDirectory, type RoomDirectoryDeps } from '../../src/rooms/index.js';
import { createToDeviceStore } from '../../src/storage/index.js';
import { createProfileService, createRemoteProfiles, type ProfileDeps } from '../../src/users/index.js';
import { testDatabase } from '../helpers/database.js';
import { remoteServer, testFederationClient } from './helpers.js';

const NOW = 1_700_000_000_000;

interface Call {
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  readonly query: unknown;
  readonly body: unknown;
  readonly timeoutMs: number | undefined;
}

/** A federation client whose answers each test sets per destination; it records every request. */
function stubClient(answer: (call: Call) => unknown): FederationClient & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async request<T>(destination: string, method: string, path: string, options: { query?: unknown; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
      const call = { destination, method, path, query: options.query, body: options.body, timeoutMs: options.timeoutMs };
      calls.push(call);
      return answer(call) as T;
    },
  } as FederationClient & { calls: Call[] };
}

const requester = { userId: '@me:local.test' as UserId, deviceId: 'MINE' as DeviceId, isGuest: false };

t.test('remote profiles come from the user\'s server over signed federation, are cached briefly, and are M_NOT_FOUND when it says no or is down', async (t) => {
  let name = '';
  const server = await remoteServer(t, (request) => {
    if (!request.url.startsWith('/_matrix/federation/v1/query/profile')) return undefined;
    const userId = new URL(request.url, 'https://x').searchParams.get('user_id');
    if (userId === `@alice:${name}`) return { json: { displayname: 'Alice', avatar_url: 'mxc://remote.test/abc', extra: { ignored: true } } };
    return { status: 404, json: { errcode: 'M_NOT_FOUND', error: 'no such user' } };
  });
  name = `remote.test:${server.port}`;
  const clock = fixedClock(NOW);
  const { client } = testFederationClient(t);
  const profiles = createProfileService({
    store: {} as ProfileDeps['store'],
    rooms: {} as ProfileDeps['rooms'],
    log: silentLogger(),
    serverName: parseServerName('local.test'),
    remote: createRemoteProfiles({ client, clock, log: silentLogger(), cacheMs: 60_000 }),
  });

  t.same(await profiles.profile(`@alice:${name}`), { displayname: 'Alice', avatar_url: 'mxc://remote.test/abc' }, 'only the profile fields are passed on');
  t.same(await profiles.profileField(`@alice:${name}`, 'displayname'), { displayname: 'Alice' });
  t.equal(server.seen.length, 1, 'the field read was answered from the cache');
  t.ok(server.seen[0]!.authorization?.startsWith('X-Matrix '), 'the query is signed');

  clock.advance(60_001);
  await profiles.profile(`@alice:${name}`);
  t.equal(server.seen.length, 2, 'after the cache time the server is asked again');

  await t.rejects(profiles.profile(`@ghost:${name}`), { errcode: 'M_NOT_FOUND', message: /could not be fetched/ }, 'the remote says the user does not exist');
  await t.rejects(profiles.profileField(`@alice:${name}`, 'm.tz'), { errcode: 'M_NOT_FOUND', message: /m\.tz/ }, 'a field this server does not show');
  await t.rejects(profiles.profile('@bob:down.test:1'), { errcode: 'M_NOT_FOUND', message: /could not be fetched/ }, 'an unreachable server');
});

t.test('remote /keys/query asks each server once, merges what it vouches for, and lists failing servers', async (t) => {
  const client = stubClient((call) => {
    if (call.destination === 'down.test') throw new FederationRequestError('down.test', 'unreachable', 'no route');
    if (call.destination === 'slow.test') throw new FederationRequestError('slow.test', 'timeout', 'too slow');
    return {
      device_keys: {
        '@a:a.test': {
          DEV1: { user_id: '@a:a.test', device_id: 'DEV1', keys: { 'ed25519:DEV1': 'k1' } },
          DEV2: { user_id: '@a:a.test', device_id: 'WRONG', keys: {} },
        },
        '@b:a.test': { BDEV: { user_id: '@b:a.test', device_id: 'BDEV', keys: {} } },
        '@intruder:other.test': { X: { user_id: '@intruder:other.test', device_id: 'X' } },
      },
      master_keys: { '@a:a.test': { user_id: '@a:a.test', usage: ['master'], keys: { 'ed25519:M': 'M' } }, '@me:local.test': { user_id: '@me:local.test' } },
      self_signing_keys: { '@a:a.test': { user_id: '@a:a.test', usage: ['self_signing'], keys: { 'ed25519:S': 'S' } } },
      user_signing_keys: { '@a:a.test': { user_id: '@a:a.test', usage: ['user_signing'] } },
    };
  });
  const deviceLists = createRemoteDeviceLists({ clock: fixedClock(NOW) });
  const keys = createKeysService({
    store: {} as KeyStore,
    log: silentLogger(),
    serverName: 'local.test',
    joinedRooms: async () => [],
    notify: () => undefined,
    remote: createRemoteKeys({ client, deviceLists, sharesRoom: async (userId) => userId === '@a:a.test', log: silentLogger() }),
  });

  const answer = await keys.query(requester, { '@a:a.test': [], '@b:a.test': ['BDEV'], '@c:down.test': [], '@d:slow.test': [] }, 2_500);
  const toA = client.calls.filter((call) => call.destination === 'a.test');
  t.equal(toA.length, 1, 'one request for both users of a.test');
  t.match(toA[0], { method: 'POST', path: '/_matrix/federation/v1/user/keys/query', timeoutMs: 2_500, body: { device_keys: { '@a:a.test': [], '@b:a.test': ['BDEV'] } } });
  t.same(Object.keys(answer.device_keys['@a:a.test']!), ['DEV1'], 'a device whose keys name another device is dropped');
  t.same(Object.keys(answer.device_keys['@b:a.test']!), ['BDEV']);
  t.notOk('@intruder:other.test' in answer.device_keys, 'a.test cannot speak for other.test\'s users');
  t.notOk('@me:local.test' in answer.master_keys, '... nor for ours');
  t.same(answer.master_keys['@a:a.test']?.usage, ['master']);
  t.same(answer.self_signing_keys['@a:a.test']?.usage, ['self_signing']);
  t.same(answer.user_signing_keys, {}, 'user-signing keys of remote users are never passed on');
  t.same(Object.keys(answer.failures).sort(), ['down.test', 'slow.test'], 'failures are keyed by server name');
  t.match(answer.failures['slow.test'], { status: 504 });

  // @a shares a room with us: their full list was kept, until their server says it changed.
  client.calls.length = 0;
  const again = await keys.query(requester, { '@a:a.test': ['DEV1'] });
  t.equal(client.calls.length, 0, 'answered from the cached device list');
  t.same(Object.keys(again.device_keys['@a:a.test']!), ['DEV1']);
  deviceLists.remoteDeviceListChanged('@a:a.test');
  await keys.query(requester, { '@a:a.test': [] });
  t.equal(client.calls.length, 1, 'after m.device_list_update the server is asked again');
  t.equal(client.calls[0]!.timeoutMs, 10_000, 'the default timeout is the spec\'s 10 s');
  await keys.query(requester, { '@b:a.test': [] });
  t.equal(client.calls.length, 2, 'a user who shares no room is not cached');

  const fromRemote = await keys.query(null, { '@a:a.test': [] });
  t.equal(client.calls.length, 2, 'a remote server\'s query is never passed on to another server');
  t.same(Object.keys(fromRemote.failures), ['a.test']);
});

t.test('remote /keys/claim merges the claimed keys per server and lists failing servers', async (t) => {
  const client = stubClient((call) => {
    if (call.destination === 'down.test') throw new FederationRequestError('down.test', 'remote', 'refused', { remoteStatus: 403, remoteErrcode: 'M_FORBIDDEN' });
    return {
      one_time_keys: {
        '@a:a.test': { DEV1: { 'signed_curve25519:AAA': { key: 'k' } }, UNASKED: { 'signed_curve25519:B': { key: 'x' } } },
        '@other:b.test': { D: { 'signed_curve25519:C': { key: 'y' } } },
      },
    };
  });
  const keys = createKeysService({
    store: { claimKeys: async () => [] } as unknown as KeyStore,
    log: silentLogger(),
    serverName: 'local.test',
    joinedRooms: async () => [],
    notify: () => undefined,
    remote: createRemoteKeys({ client, deviceLists: createRemoteDeviceLists({ clock: fixedClock(NOW) }), sharesRoom: async () => false, log: silentLogger() }),
  });
  const answer = await keys.claim({ '@a:a.test': { DEV1: 'signed_curve25519' }, '@z:down.test': { Z: 'signed_curve25519' } }, 3_000);
  t.match(client.calls.find((call) => call.destination === 'a.test'), {
    method: 'POST', path: '/_matrix/federation/v1/user/keys/claim', timeoutMs: 3_000, body: { one_time_keys: { '@a:a.test': { DEV1: 'signed_curve25519' } } },
  });
  t.same(answer.one_time_keys, { '@a:a.test': { DEV1: { 'signed_curve25519:AAA': { key: 'k' } } } }, 'only the devices asked of that server');
  t.match(answer.failures, { 'down.test': { status: 403, errcode: 'M_FORBIDDEN' } });
});

t.test('publicRooms?server= asks that server: GET for a page, POST for a search; malformed entries are dropped', async (t) => {
  const client = stubClient(() => ({
    chunk: [
      { room_id: '!a:x.test', num_joined_members: 5, world_readable: true, guest_can_join: false, name: 'A' },
      { room_id: '!broken:x.test' },
    ],
    next_batch: 'n1',
    total_room_count_estimate: 9,
  }));
  const directory = createRoomDirectory({
    directory: {} as RoomDirectoryDeps['directory'],
    store: {} as RoomDirectoryDeps['store'],
    isServerAdmin: async () => false,
    serverName: 'local.test',
    clock: fixedClock(NOW),
    remote: createRemotePublicRooms({ client }),
  });
  const page = await directory.publicRooms({ server: 'x.test', limit: 10, since: 'abc' });
  t.same(page, { chunk: [{ room_id: '!a:x.test', num_joined_members: 5, world_readable: true, guest_can_join: false, name: 'A' }], next_batch: 'n1', total_room_count_estimate: 9 });
  t.match(client.calls[0], { destination: 'x.test', method: 'GET', path: '/_matrix/federation/v1/publicRooms', query: { limit: 10, since: 'abc' } });

  await directory.publicRooms({ server: 'x.test', searchTerm: 'cafe', roomTypes: [null, 'm.space'] });
  t.match(client.calls[1], { method: 'POST', body: { filter: { generic_search_term: 'cafe', room_types: [null, 'm.space'] } } });

  await t.rejects(directory.publicRooms({ server: 'not a server' }), { errcode: 'M_INVALID_PARAM', message: /server name/ });
  const refusing = createRoomDirectory({
    directory: {} as RoomDirectoryDeps['directory'], store: {} as RoomDirectoryDeps['store'], isServerAdmin: async () => false, serverName: 'local.test', clock: fixedClock(NOW),
    remote: createRemotePublicRooms({ client: stubClient(() => { throw new FederationRequestError('x.test', 'unreachable', 'down'); }) }),
  });
  const err = await refusing.publicRooms({ server: 'x.test' }).catch((e: unknown) => e);
  t.ok(err instanceof MatrixError && err.status === 502, 'an unreachable server is a 502 for the client');
});

t.test('sendToDevice groups remote users\' messages per server once per transaction, with a stable message id', async (t) => {
  const db = await testDatabase(t);
  await db.sql`insert into users (user_id, created_ts) values (${requester.userId}, ${NOW})`;
  await db.sql`insert into devices (user_id, device_id, created_ts) values (${requester.userId}, ${requester.deviceId}, ${NOW})`;
  const federated: Array<{ sender: string; type: string; messageId: string; byServer: Map<string, unknown> }> = [];
  const toDevice = createToDeviceService({
    store: createToDeviceStore(db.sql),
    clock: fixedClock(NOW),
    log: silentLogger(),
    serverName: 'local.test',
    notify: () => undefined,
    federate: async (request) => void federated.push(request),
  });
  const messages = {
    '@a:a.test': { DEV1: { secret: 1 } },
    '@b:a.test': { '*': { secret: 2 } },
    '@c:c.test': { C1: { secret: 3 } },
    '@nobody:local.test': { X: { secret: 4 } },
  };
  await toDevice.send(requester, 'm.room_key', 'txn1', messages);
  t.equal(federated.length, 1);
  const [request] = federated;
  t.match(request, { sender: '@me:local.test', type: 'm.room_key' });
  t.ok(request!.messageId.length > 0 && request!.messageId.length <= 32, 'message_id at most 32 characters');
  t.same(Object.fromEntries(request!.byServer), {
    'a.test': { '@a:a.test': { DEV1: { secret: 1 } }, '@b:a.test': { '*': { secret: 2 } } },
    'c.test': { '@c:c.test': { C1: { secret: 3 } } },
  }, 'grouped per server; local users stay here');

  await toDevice.send(requester, 'm.room_key', 'txn1', messages);
  t.equal(federated.length, 1, 'a retried transaction is not sent again');
  await toDevice.send(requester, 'm.room_key', 'txn2', { '@a:a.test': { DEV1: {} } });
  t.not(federated[1]!.messageId, request!.messageId, 'another transaction has another message id');
});
