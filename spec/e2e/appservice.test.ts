import t, { type Test } from 'tap';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { registerUser } from '../helpers/app.js';
import { eventually, roomPath, testClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Application services (bridges) on a real Hearth: a plain HTTP server stands in for the bridge. It
 * registers and acts for its users with its as_token, is sent the events that interest it in
 * transactions (again, unchanged, until it takes them), is asked about users and aliases it may create
 * on demand, and can have Hearth ping it.
 */

const AS_TOKEN = 'bridge-as-token';
const HS_TOKEN = 'bridge-hs-token';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the bridge's JSON, read field by field
}

type Answer = { status: number; body: unknown } | Promise<{ status: number; body: unknown }>;

/** The bridge: records every request Hearth makes, answers with `answer` (200 {} unless told otherwise). */
async function fakeBridge(t: Test) {
  const received: Received[] = [];
  let answer: (request: Received) => Answer = () => ({ status: 200, body: {} });
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const entry: Received = { method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization, body: text ? JSON.parse(text) : undefined };
    received.push(entry);
    const { status, body } = await answer(entry);
    response.statusCode = status;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answerWith: (fn: typeof answer) => void (answer = fn),
    /** The transactions received so far, by id, each with its events' ids. */
    transactions: () => received.filter((r) => r.url.startsWith('/_matrix/app/v1/transactions/')),
  };
}

/** A Hearth with the bridge registered: users @_bridge_*, aliases #_bridge_* exclusively; #chat-* not. */
async function hearthWithBridge(t: Test, bridgeUrl: string, extra: Record<string, unknown> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearth-as-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bridge.yaml');
  await writeFile(file, JSON.stringify({
    id: 'bridge',
    url: bridgeUrl,
    as_token: AS_TOKEN,
    hs_token: HS_TOKEN,
    sender_localpart: '_bridge_bot',
    namespaces: {
      users: [{ exclusive: true, regex: '@_bridge_.*:hearth\\.test' }, { exclusive: true, regex: '@bridged-.*' }],
      aliases: [{ exclusive: true, regex: '#_bridge_.*' }, { exclusive: false, regex: '#chat-.*' }],
      rooms: [],
    },
    ...extra,
  }));
  return startTestServer(t, 'embedded', `app_service_config_files: ["${file}"]`);
}

/** Requests with the as_token, as the bridge's own user or, with `as`, one of its users. */
function bridgeClient(app: FastifyInstance) {
  const call = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', pathAndQuery: string, payload?: unknown, as?: { userId?: string; deviceId?: string; ts?: number }) => {
    const query = new URLSearchParams();
    if (as?.userId !== undefined) query.set('user_id', as.userId);
    if (as?.deviceId !== undefined) query.set('device_id', as.deviceId);
    if (as?.ts !== undefined) query.set('ts', String(as.ts));
    const separator = pathAndQuery.includes('?') ? '&' : '?';
    const url = `${pathAndQuery.startsWith('/_') ? '' : '/_matrix/client/v3'}${pathAndQuery}${query.size > 0 ? separator + query.toString() : ''}`;
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${AS_TOKEN}` }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    return { status: res.statusCode, body: res.json() as any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- asserted field by field
  };
  return {
    call,
    register: (username: string, extra: Record<string, unknown> = {}) => call('POST', '/register', { type: 'm.login.application_service', username, ...extra }),
  };
}

t.test('an application service registers its users and acts for them', async (t) => {
  const bridge = await fakeBridge(t);
  const server = await hearthWithBridge(t, bridge.url);
  const as = bridgeClient(server.app);
  const anonymous = testClient(server.app, null);

  const alice = await as.register('_bridge_alice');
  t.equal(alice.status, 200, JSON.stringify(alice.body));
  t.match(alice.body, { user_id: '@_bridge_alice:hearth.test', access_token: String, device_id: String });
  t.same((await as.register('_bridge_quiet', { inhibit_login: true })).body, { user_id: '@_bridge_quiet:hearth.test' }, 'inhibit_login: no device, no token');
  t.match(await as.register('carol'), { status: 400, body: { errcode: 'M_EXCLUSIVE' } }, 'outside its namespaces');
  t.match(await as.register('_bridge_alice'), { status: 400, body: { errcode: 'M_USER_IN_USE' } });
  t.match(await anonymous.post('/register', { type: 'm.login.application_service', username: '_bridge_x' }), { status: 401, body: { errcode: 'M_MISSING_TOKEN' } });
  const carol = await registerUser(server.app, 'carol');
  t.match(await testClient(server.app, carol).post('/register', { type: 'm.login.application_service', username: '_bridge_x' }), { status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } },
    "a user's token is not an as_token");

  // Nobody else may take the names the service holds exclusively.
  t.match(await anonymous.post('/register', { username: 'bridged-dan', password: 'pw' }), { status: 400, body: { errcode: 'M_EXCLUSIVE' } });
  t.match(await anonymous.get('/register/available?username=bridged-dan'), { status: 400, body: { errcode: 'M_EXCLUSIVE' } });
  t.match(await as.register('bridged-dan'), { status: 200 }, 'the service itself may');

  // Identity assertion: user_id and device_id.
  t.same((await as.call('GET', '/account/whoami')).body, { user_id: '@_bridge_bot:hearth.test', is_guest: false }, 'its own user, which exists from the start, without a device');
  t.same((await as.call('GET', '/account/whoami', undefined, { userId: alice.body.user_id })).body, { user_id: alice.body.user_id, is_guest: false });
  t.same((await as.call('GET', '/account/whoami', undefined, { userId: alice.body.user_id, deviceId: alice.body.device_id })).body,
    { user_id: alice.body.user_id, device_id: alice.body.device_id, is_guest: false });
  t.match(await as.call('GET', '/account/whoami', undefined, { userId: alice.body.user_id, deviceId: 'NOSUCHDEVICE' }), { status: 400, body: { errcode: 'M_UNKNOWN_DEVICE' } });
  t.match(await as.call('GET', '/account/whoami', undefined, { userId: '@_bridge_ghost:hearth.test' }), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'a user it has not registered');
  t.match(await as.call('GET', '/account/whoami', undefined, { userId: carol.user_id }), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'a user outside its namespaces');
  t.match(await as.call('POST', '/keys/upload', { one_time_keys: {} }, { userId: alice.body.user_id }), { status: 400, body: { errcode: 'M_MISSING_PARAM' } },
    'keys need a device');

  // Logging in as its users, and no other.
  t.ok((await anonymous.get('/login')).body.flows.some((flow: { type: string }) => flow.type === 'm.login.application_service'));
  const login = await as.call('POST', '/login', { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: '_bridge_alice' } });
  t.match(login, { status: 200, body: { user_id: alice.body.user_id, access_token: String } });
  t.match(await as.call('POST', '/login', { type: 'm.login.application_service', identifier: { type: 'm.id.user', user: 'carol' } }), { status: 400, body: { errcode: 'M_EXCLUSIVE' } });

  // Timestamp massaging: the service's events may carry the time they were sent on the other network.
  const room = (await as.call('POST', '/createRoom', { preset: 'public_chat' }, { userId: alice.body.user_id })).body.room_id as string;
  const massaged = await as.call('PUT', `${roomPath(room)}/send/m.room.message/t1`, { msgtype: 'm.text', body: 'from 2001' }, { userId: alice.body.user_id, ts: 1_000_000_000_000 });
  t.equal(massaged.status, 200, JSON.stringify(massaged.body));
  t.equal((await as.call('GET', `${roomPath(room)}/event/${encodeURIComponent(massaged.body.event_id)}`, undefined, { userId: alice.body.user_id })).body.origin_server_ts, 1_000_000_000_000);
  const carolClient = testClient(server.app, carol);
  await carolClient.post(`/join/${encodeURIComponent(room)}`);
  const plain = await carolClient.put(`${roomPath(room)}/send/m.room.message/t2?ts=1000`, { msgtype: 'm.text', body: 'now' });
  t.ok((await carolClient.get(`${roomPath(room)}/event/${encodeURIComponent(plain.body.event_id)}`)).body.origin_server_ts > 1_000_000_000_000, 'ts means nothing from users');

  // Aliases: the service's own namespaces only; its exclusive ones are closed to others.
  t.match(await carolClient.put(`/directory/room/${encodeURIComponent('#_bridge_general:hearth.test')}`, { room_id: room }), { status: 400, body: { errcode: 'M_EXCLUSIVE' } });
  t.equal((await carolClient.put(`/directory/room/${encodeURIComponent('#chat-general:hearth.test')}`, { room_id: room })).status, 200, 'a non-exclusive namespace is open');
  t.equal((await as.call('PUT', `/directory/room/${encodeURIComponent('#_bridge_general:hearth.test')}`, { room_id: room })).status, 200, 'the service, not in the room');
  t.match(await as.call('PUT', `/directory/room/${encodeURIComponent('#elsewhere:hearth.test')}`, { room_id: room }), { status: 400, body: { errcode: 'M_EXCLUSIVE' } });

  // A user a server admin suspended or locked is so when the service acts for them too.
  await server.database.sql`update users set suspended = true where user_id = ${alice.body.user_id}`;
  t.match(await as.call('PUT', `${roomPath(room)}/send/m.room.message/t3`, { msgtype: 'm.text', body: 'spam' }, { userId: alice.body.user_id }), { status: 403, body: { errcode: 'M_USER_SUSPENDED' } });
  await server.database.sql`update users set suspended = false, locked = true where user_id = ${alice.body.user_id}`;
  t.match(await as.call('GET', '/account/whoami', undefined, { userId: alice.body.user_id }), { status: 401, body: { errcode: 'M_USER_LOCKED' } });
  await server.database.sql`update users set locked = false where user_id = ${alice.body.user_id}`;

  // Deactivating one of its users needs no password (they have none).
  t.equal((await as.call('POST', '/account/deactivate', {}, { userId: alice.body.user_id })).status, 200);
  t.match(await as.call('GET', '/account/whoami', undefined, { userId: alice.body.user_id }), { status: 403 }, 'gone');
});

t.test('events reach the application service in transactions, the same one again until it takes it', async (t) => {
  const bridge = await fakeBridge(t);
  const server = await hearthWithBridge(t, bridge.url);
  const as = bridgeClient(server.app);
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  const ghost = (await as.register('_bridge_ghost', { inhibit_login: true })).body.user_id as string;

  const room = await bob.createRoom({ preset: 'public_chat', invite: [ghost] });
  const quiet = await bob.createRoom({ preset: 'public_chat' });
  t.equal((await as.call('POST', `/join/${encodeURIComponent(room)}`, {}, { userId: ghost })).status, 200);
  const hello = (await bob.send(room, 'hello bridge', 'm1')).body.event_id as string;
  const unseen = (await bob.send(quiet, 'not for the bridge', 'm2')).body.event_id as string;

  const events = () => bridge.transactions().flatMap((r) => r.body.events as Array<{ event_id: string; type: string; content: { membership?: string } }>);
  t.ok(await eventually(async () => (events().some((e) => e.event_id === hello) ? true : undefined)), 'the message reached the bridge');
  const first = bridge.transactions()[0]!;
  t.equal(first.method, 'PUT');
  t.equal(first.authorization, `Bearer ${HS_TOKEN}`, 'the hs_token in the Authorization header');
  t.notOk(first.url.includes(HS_TOKEN), 'and never in the URL');
  t.match(events().find((e) => e.event_id === hello), { room_id: room, sender: bob.user, type: 'm.room.message', content: { body: 'hello bridge' } }, 'client format');
  t.ok(events().some((e) => e.type === 'm.room.member' && e.content.membership === 'invite'), 'the invite of its user');
  t.notOk(events().some((e) => e.event_id === unseen), 'nothing from a room without its users or aliases');

  // The bridge goes down: the transaction is tried again, unchanged, and then the ones after it.
  let refusals = 0;
  bridge.answerWith((request) => (request.url.startsWith('/_matrix/app/v1/transactions/') && refusals++ < 2 ? { status: 503, body: {} } : { status: 200, body: {} }));
  const before = bridge.transactions().length;
  const down = (await bob.send(room, 'while you were down', 'm3')).body.event_id as string;
  t.ok(await eventually(async () => (bridge.transactions().length >= before + 3 ? true : undefined)), 'refused twice, then taken');
  const [tried, retried, accepted] = bridge.transactions().slice(before);
  t.equal(retried!.url, tried!.url, 'the same transaction id');
  t.same(retried!.body, tried!.body, 'the same events');
  t.equal(accepted!.url, tried!.url, 'until the bridge takes it');
  t.ok((tried!.body.events as Array<{ event_id: string }>).some((e) => e.event_id === down));
  const later = (await bob.send(room, 'and after', 'm4')).body.event_id as string;
  t.ok(await eventually(async () => (events().some((e) => e.event_id === later) ? true : undefined)), 'what came after is sent after');
  const ids = bridge.transactions().map((r) => Number(r.url.split('/').pop()));
  t.equal(ids.at(-1), ids.at(-2)! + 1, 'the next transaction has the next id');

  // A room with one of its aliases interests it, members or not.
  await bob.put(`/directory/room/${encodeURIComponent('#chat-lobby:hearth.test')}`, { room_id: quiet });
  const aliased = (await bob.send(quiet, 'now with an alias', 'm5')).body.event_id as string;
  t.ok(await eventually(async () => (events().some((e) => e.event_id === aliased) ? true : undefined)), 'a room with an alias in its namespace');
});

t.test('the application service is asked about users and aliases it may create, and can be pinged', async (t) => {
  const bridge = await fakeBridge(t);
  const server = await hearthWithBridge(t, bridge.url);
  const as = bridgeClient(server.app);
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  const room = await bob.createRoom({ preset: 'public_chat' });

  // The bridge makes users and channels when asked about them.
  bridge.answerWith(async (request) => {
    if (request.url === `/_matrix/app/v1/users/${encodeURIComponent('@_bridge_dave:hearth.test')}`) {
      await as.register('_bridge_dave', { inhibit_login: true });
      return { status: 200, body: {} };
    }
    if (request.url === `/_matrix/app/v1/rooms/${encodeURIComponent('#_bridge_channel:hearth.test')}`) {
      await as.call('PUT', `/directory/room/${encodeURIComponent('#_bridge_channel:hearth.test')}`, { room_id: room });
      return { status: 200, body: {} };
    }
    if (request.url.startsWith('/_matrix/app/v1/users/') || request.url.startsWith('/_matrix/app/v1/rooms/')) return { status: 404, body: { errcode: 'M_NOT_FOUND' } };
    return { status: 200, body: {} };
  });
  const invited = await bob.post(`${roomPath(room)}/invite`, { user_id: '@_bridge_dave:hearth.test' });
  t.equal(invited.status, 200, JSON.stringify(invited.body));
  t.ok(bridge.received.some((r) => r.method === 'GET' && r.url.startsWith('/_matrix/app/v1/users/')), 'the bridge was asked about the user');
  t.equal((await as.call('GET', '/account/whoami', undefined, { userId: '@_bridge_dave:hearth.test' })).status, 200, 'and registered them');

  const carol = testClient(server.app, await registerUser(server.app, 'carol'));
  const joined = await carol.post(`/join/${encodeURIComponent('#_bridge_channel:hearth.test')}`);
  t.match(joined, { status: 200, body: { room_id: room } }, 'joining an alias the bridge made on demand');
  t.match(await bob.get(`/directory/room/${encodeURIComponent('#_bridge_nothing:hearth.test')}`), { status: 404, body: { errcode: 'M_NOT_FOUND' } },
    'an alias the bridge does not know stays unknown');

  // Ping.
  const ping = await as.call('POST', '/_matrix/client/v1/appservice/bridge/ping', { transaction_id: 'meow' });
  t.match(ping, { status: 200, body: { duration_ms: Number } });
  t.match(bridge.received.find((r) => r.url === '/_matrix/app/v1/ping'), { method: 'POST', body: { transaction_id: 'meow' }, authorization: `Bearer ${HS_TOKEN}` });
  bridge.answerWith(() => ({ status: 403, body: { errcode: 'M_FORBIDDEN' } }));
  t.match(await as.call('POST', '/_matrix/client/v1/appservice/bridge/ping', {}), { status: 502, body: { errcode: 'M_BAD_STATUS', status: 403, body: '{"errcode":"M_FORBIDDEN"}' } });
  t.match(await as.call('POST', '/_matrix/client/v1/appservice/other/ping', {}), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'another service\'s id');
  t.match(await bob.post('/_matrix/client/v1/appservice/bridge/ping', {}), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'a user');
});

t.test('a bridge that cannot be reached fails the ping, and a broken registration stops the start', async (t) => {
  const server = await hearthWithBridge(t, 'http://127.0.0.1:1');
  const as = bridgeClient(server.app);
  t.match(await as.call('POST', '/_matrix/client/v1/appservice/bridge/ping', {}), { status: 502, body: { errcode: 'M_CONNECTION_FAILED' } });

  await t.rejects(hearthWithBridge(t, 'http://127.0.0.1:1', { namespaces: { users: [{ regex: '@x.*' }] } }), /bridge\.yaml: namespaces\.users\[0\]\.exclusive must be true or false/);
});

t.test('a bridge with receive_ephemeral is sent typing, read receipts and presence of its rooms', async (t) => {
  const bridge = await fakeBridge(t);
  const server = await hearthWithBridge(t, bridge.url, { receive_ephemeral: true });
  const as = bridgeClient(server.app);
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  const ghost = (await as.register('_bridge_ghost', { inhibit_login: true })).body.user_id as string;
  const room = await bob.createRoom({ preset: 'public_chat', invite: [ghost] });
  const elsewhere = await bob.createRoom({ preset: 'public_chat' });
  t.equal((await as.call('POST', `/join/${encodeURIComponent(room)}`, {}, { userId: ghost })).status, 200);
  const hello = (await bob.send(room, 'hello', 'm1')).body.event_id as string;

  const ephemeral = () => bridge.transactions().flatMap((r) => (r.body.ephemeral ?? []) as Array<{ type: string; room_id?: string; sender?: string; content: any }>); // eslint-disable-line @typescript-eslint/no-explicit-any -- asserted field by field
  await bob.put(`${roomPath(elsewhere)}/typing/${encodeURIComponent(bob.user)}`, { typing: true, timeout: 30_000 });
  await bob.put(`${roomPath(room)}/typing/${encodeURIComponent(bob.user)}`, { typing: true, timeout: 30_000 });
  const typing = await eventually(async () => ephemeral().find((e) => e.type === 'm.typing'));
  t.same(typing, { type: 'm.typing', room_id: room, content: { user_ids: [bob.user] } }, 'typing, with the room it is in');

  await bob.post(`${roomPath(room)}/receipt/m.read/${encodeURIComponent(hello)}`, {});
  const receipt = await eventually(async () => ephemeral().find((e) => e.type === 'm.receipt'));
  t.match(receipt, { type: 'm.receipt', room_id: room, content: { [hello]: { 'm.read': { [bob.user]: { ts: Number } } } } });

  await bob.put(`/presence/${encodeURIComponent(bob.user)}/status`, { presence: 'unavailable', status_msg: 'lunch' });
  const presence = await eventually(async () => ephemeral().find((e) => e.type === 'm.presence' && e.sender === bob.user));
  t.match(presence, { type: 'm.presence', sender: bob.user, content: { presence: 'unavailable', status_msg: 'lunch' } }, 'presence of a user sharing its room');
  t.notOk(ephemeral().some((e) => e.room_id === elsewhere), 'nothing of a room without its users');
});

t.test('a bridge creates devices for its users without logging them in', async (t) => {
  const bridge = await fakeBridge(t);
  const server = await hearthWithBridge(t, bridge.url);
  const as = bridgeClient(server.app);
  const ghost = (await as.register('_bridge_ghost', { inhibit_login: true })).body.user_id as string;
  t.equal((await as.call('PUT', '/devices/BRIDGEDEV', { display_name: 'Bridge' }, { userId: ghost })).status, 200);
  t.match((await as.call('GET', '/devices', undefined, { userId: ghost })).body.devices, [{ device_id: 'BRIDGEDEV', display_name: 'Bridge' }]);
  t.equal((await as.call('PUT', '/devices/BRIDGEDEV', {}, { userId: ghost })).status, 200, 'again: nothing changes');
  t.match(await as.call('POST', '/keys/upload', { one_time_keys: {} }, { userId: ghost, deviceId: 'BRIDGEDEV' }), { status: 200, body: { one_time_key_counts: {} } },
    'it acts with the device');
  const bob = testClient(server.app, await registerUser(server.app, 'bob'));
  t.match(await bob.put('/devices/NOTMINE', { display_name: 'x' }), { status: 404, body: { errcode: 'M_NOT_FOUND' } }, 'users cannot create devices so');
  t.equal((await as.call('DELETE', '/devices/BRIDGEDEV', undefined, { userId: ghost })).status, 200, 'and deletes them without a password');
});
