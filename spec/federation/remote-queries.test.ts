import t from 'tap';
import { createKeysService, createRemoteKeys, createToDeviceService, type KeyStore, type RemoteDeviceList, type RemoteDeviceListStore } from '../../src/e2ee/index.js';
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

/**
 * Kept device lists in memory, for the remote-keys logic alone (the SQL is tested in
 * spec/storage/remote-device-lists-store.test.ts): who shares a room is set by the test.
 */
function memoryDeviceListStore() {
  const kept = new Map<string, { list: RemoteDeviceList; stale: boolean; continuous: boolean }>();
  const shared = new Set<string>();
  const store: RemoteDeviceListStore = {
    async remoteDeviceLists(userIds) {
      return new Map(userIds.map((userId) => {
        const copy = kept.get(userId);
        return [userId, { shared: shared.has(userId), ...(copy ? { kept: { ...copy } } : {}) }];
      }));
    },
    async putFetched(userId, list) {
      kept.set(userId, { list, stale: false, continuous: true });
    },
    async putUpdated(userId, list) {
      const copy = kept.get(userId);
      kept.set(userId, { list, stale: copy?.stale ?? false, continuous: copy?.continuous ?? true });
    },
    async markStale(userId) {
      const copy = kept.get(userId);
      if (copy) copy.stale = true;
    },
    async forget(userId) {
      kept.delete(userId);
    },
  };
  return { store, kept, shared };
}

function remoteKeysOn(client: FederationClient, store: RemoteDeviceListStore) {
  return createRemoteKeys({ client, store, serverName: 'local.test', clock: fixedClock(NOW), log: silentLogger() });
}

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
  const keys = createKeysService({
    store: {} as KeyStore,
    log: silentLogger(),
    serverName: 'local.test',
    joinedRooms: async () => [],
    notify: () => undefined,
    remote: remoteKeysOn(client, memoryDeviceListStore().store),
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

  client.calls.length = 0;
  await keys.query(requester, { '@a:a.test': [] });
  t.equal(client.calls.length, 1, 'a user who shares no room is asked again every time');
  t.equal(client.calls[0]!.timeoutMs, 10_000, 'the default timeout is the spec\'s 10 s');

  const fromRemote = await keys.query(null, { '@a:a.test': [] });
  t.equal(client.calls.length, 1, 'a remote server\'s query is never passed on to another server');
  t.same(Object.keys(fromRemote.failures), ['a.test']);
});

t.test('the device lists of users who share a room are kept, updated by their server, and fetched again after a gap', async (t) => {
  const alice = '@alice:a.test';
  let serverDown = false;
  let devicesAnswer: Record<string, unknown> = {
    user_id: alice,
    stream_id: 4,
    devices: [
      { device_id: 'PHONE', keys: { user_id: alice, device_id: 'PHONE', keys: { 'ed25519:PHONE': 'p1' } }, device_display_name: 'Phone' },
      { device_id: 'EVIL', keys: { user_id: '@mallory:a.test', device_id: 'EVIL' } },
    ],
    master_key: { user_id: alice, usage: ['master'], keys: { 'ed25519:M': 'M' } },
    self_signing_key: { user_id: '@mallory:a.test', usage: ['self_signing'] },
  };
  const client = stubClient((call) => {
    if (serverDown) throw new FederationRequestError('a.test', 'remote', 'answered HTTP 400', { remoteStatus: 400 });
    if (call.method === 'GET' && call.path === `/_matrix/federation/v1/user/devices/${encodeURIComponent(alice)}`) return devicesAnswer;
    throw new Error(`unexpected ${call.method} ${call.path}`);
  });
  const memory = memoryDeviceListStore();
  memory.shared.add(alice);
  const announced: string[] = [];
  const remote = createRemoteKeys({
    client, store: memory.store, serverName: 'local.test', clock: fixedClock(NOW), log: silentLogger(),
    changed: async (userId) => void announced.push(userId),
  });

  const first = await remote.query(new Map([[alice, []]]));
  t.same(client.calls.map((call) => call.method), ['GET'], 'no copy yet: the whole list is fetched with GET /user/devices');
  t.same(first.device_keys[alice], { PHONE: { user_id: alice, device_id: 'PHONE', keys: { 'ed25519:PHONE': 'p1' }, unsigned: { device_display_name: 'Phone' } } },
    'display names under unsigned; a device whose keys name another user is dropped');
  t.same(Object.keys(first.master_keys), [alice]);
  t.same(first.self_signing_keys, {}, 'a cross-signing key of another user is dropped');
  t.same(first.failures, {});

  t.same((await remote.query(new Map([[alice, ['PHONE']]]))).device_keys[alice]?.PHONE?.keys, { 'ed25519:PHONE': 'p1' });
  t.equal(client.calls.length, 1, 'answered from the kept copy');

  // An update that follows the copy applies on top, without asking.
  t.equal(
    await remote.remoteUpdate('m.device_list_update', alice, { user_id: alice, device_id: 'LAPTOP', stream_id: 5, prev_id: [4], keys: { user_id: alice, device_id: 'LAPTOP', keys: { 'ed25519:LAPTOP': 'l1' } } }),
    'changed',
    'applied: local clients are told at once',
  );
  await remote.remoteUpdate('m.device_list_update', alice, { user_id: alice, device_id: 'PHONE', stream_id: 5, prev_id: [4], deleted: true });
  await remote.remoteUpdate('m.signing_key_update', alice, { user_id: alice, self_signing_key: { user_id: alice, usage: ['self_signing'], keys: { 'ed25519:S': 'S' } } });
  const updated = await remote.query(new Map([[alice, []]]));
  t.same(Object.keys(updated.device_keys[alice]!), ['LAPTOP'], 'one device added and one removed at the same stream id');
  t.same(updated.self_signing_keys[alice]?.usage, ['self_signing']);
  t.equal(client.calls.length, 1, 'still nothing asked');

  // An update that follows one we never saw: the list is fetched again.
  devicesAnswer = { ...devicesAnswer, stream_id: 9, devices: [{ device_id: 'TABLET', keys: {} }] };
  t.same(announced, [alice], 'the first list kept is a change for local clients');
  t.equal(await remote.remoteUpdate('m.device_list_update', alice, { user_id: alice, device_id: 'TABLET', stream_id: 9, prev_id: [8] }), 'unchanged', 'not yet: once fetched');
  await remote.idle();
  t.equal(client.calls.length, 2, 'a missed update: fetched again');
  t.same(announced, [alice, alice], 'the fetched list differs: local clients are told');
  t.same(Object.keys((await remote.query(new Map([[alice, []]]))).device_keys[alice]!), ['TABLET']);
  t.equal(await remote.remoteUpdate('m.device_list_update', alice, { user_id: alice, device_id: 'OLD', stream_id: 3, prev_id: [2] }), 'unchanged');
  t.equal(client.calls.length, 2, 'an update older than the copy is already in it');
  t.same(Object.keys((await remote.query(new Map([[alice, []]]))).device_keys[alice]!), ['TABLET']);

  // Their server is down: a stale copy is still answered, with no failure.
  serverDown = true;
  await remote.remoteUpdate('m.device_list_update', alice, { user_id: alice, device_id: 'TABLET', stream_id: 12, prev_id: [11] });
  await remote.idle();
  t.ok(memory.kept.get(alice)?.stale, 'the failed fetch marks the copy stale');
  const whileDown = await remote.query(new Map([[alice, []]]));
  t.equal(client.calls.length, 4, 'a stale copy makes the query try the server again');
  t.same(Object.keys(whileDown.device_keys[alice]!), ['TABLET'], 'and answer from the copy when it cannot');
  t.same(whileDown.failures, {});

  // A break in sharing a room: the copy may have missed updates.
  serverDown = false;
  memory.kept.get(alice)!.stale = false;
  memory.kept.get(alice)!.continuous = false;
  await remote.query(new Map([[alice, []]]));
  t.equal(client.calls.length, 5, 'fetched again after a break in sharing a room');
  t.same(announced, [alice, alice], 'the same list as kept: nothing to tell');

  // No room in common any more: the copy is forgotten and the server asked each time.
  memory.shared.delete(alice);
  await remote.remoteUpdate('m.device_list_update', alice, { user_id: alice, device_id: 'TABLET', stream_id: 13, prev_id: [9] });
  t.notOk(memory.kept.has(alice), 'an update for a user we share nothing with is not kept');
});

t.test('a user with no copy whose server cannot be reached is a failure', async (t) => {
  const client = stubClient(() => {
    throw new FederationRequestError('gone.test', 'unreachable', 'no route');
  });
  const memory = memoryDeviceListStore();
  memory.shared.add('@x:gone.test');
  const answer = await remoteKeysOn(client, memory.store).query(new Map([['@x:gone.test', []]]));
  t.same(answer.device_keys, {});
  t.match(answer.failures, { 'gone.test': { status: 503 } });
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
    remote: remoteKeysOn(client, memoryDeviceListStore().store),
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
