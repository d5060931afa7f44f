import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from '../../../src/api/plumbing/http-app.js';
import { installFederationAuth } from '../../../src/api/federation/auth.js';
import { federationSendRoutes } from '../../../src/api/federation/send.js';
import { buildEvent, getRoomVersion, type EventDraft, type RoomEvent } from '../../../src/events/index.js';
import { createGapFiller, createInboundEdus, createTransactionReceiver, signRequest, type FederationClient, type Keyring } from '../../../src/federation/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { roomNotifierOnBus, streamNotifierOnBus } from '../../../src/platform/stream-notices.js';
import { createReceivePipeline } from '../../../src/rooms/index.js';
import { createInboundTransactionStore, createPresenceStore, createReceiptsStore, createRoomStore, type Database } from '../../../src/storage/index.js';
import { appOn, registerUser } from '../../helpers/app.js';
import { testDatabase } from '../../helpers/database.js';
import { busSettled, clientOf } from '../../helpers/ephemeral.js';
import { remoteEvent } from '../../helpers/federation.js';
import { keyring, LOCAL, localKey, REMOTE, remoteKey } from '../../helpers/rooms.js';

const NOW = 1_700_000_000_000;
const rob = `@rob:${REMOTE}`;
const eve = `@eve:${REMOTE}`;

/** The X-Matrix check sees remote.test's one key. */
const authKeys: Pick<Keyring, 'keyValidAt'> = {
  keyValidAt: async (server, keyId) => (server === REMOTE && keyId === remoteKey.keyId ? { key: remoteKey.publicKey, validUntilTs: Infinity } : undefined),
};

/**
 * The client app (alice on hearth.test) and, on the same database and bus, the federation /send endpoint
 * wired as server.ts wires it; remote.test's requests are X-Matrix signed with its key.
 */
async function world(t: Test, db: Database, options: { remote?: FederationClient['request']; joiningThrough?: (server: string) => boolean } = {}) {
  const { app, ephemeral } = await appOn(t, db);
  const log = silentLogger();
  const bus = ephemeral.bus;
  const store = createRoomStore(db.sql);
  const inboundStore = createInboundTransactionStore(db.sql);
  const pipeline = createReceivePipeline({ store, keys: keyring, notifier: roomNotifierOnBus(bus, log), log });
  const reachable: string[] = [];
  const client: FederationClient = { request: options.remote ?? (async () => { throw new Error('no remote answers in this test'); }) } as FederationClient;
  const receiver = createTransactionReceiver({
    store: inboundStore,
    rooms: store,
    serverName: LOCAL,
    pdus: createGapFiller({ client, pipeline, rooms: store, log }),
    edus: createInboundEdus({
      rooms: store,
      typing: ephemeral.typing,
      receipts: { store: createReceiptsStore(db.sql), notify: streamNotifierOnBus(bus, log, 'receipts') },
      presence: { store: createPresenceStore(db.sql), notify: streamNotifierOnBus(bus, log, 'presence') },
      ...(options.joiningThrough ? { joiningThrough: options.joiningThrough } : {}),
      toDevice: { notify: streamNotifierOnBus(bus, log, 'toDevice') },
      deviceLists: { announce: async (userId, position) => streamNotifierOnBus(bus, log, 'deviceLists')({ position, users: [userId], rooms: await store.roomsWithMembership(userId, 'join') }) },
      store: inboundStore,
      serverName: LOCAL,
      clock: fixedClock(NOW),
      log,
    }),
    reachable: async (origin) => void reachable.push(origin),
    clock: fixedClock(NOW),
    log,
  });
  const federation: FastifyInstance = await createHttpApp({ log, maxJsonBodyBytes: 1 << 20, trustProxy: false }, async (app) => {
    installFederationAuth(app, { serverName: LOCAL, keys: authKeys, clock: fixedClock(NOW) });
    await app.register(federationSendRoutes(receiver));
  });
  t.teardown(() => federation.close());

  const alice = clientOf(app, await registerUser(app, 'alice'));
  const roomId = await alice.createRoom({ preset: 'public_chat', room_version: '10' });

  /** PUT /send/{txnId} as remote.test (or as `origin` in the body when a test lies). */
  async function send(txnId: string, body: { pdus?: unknown[]; edus?: unknown[]; origin?: string }) {
    const content = { origin: body.origin ?? REMOTE, origin_server_ts: NOW, pdus: body.pdus ?? [], ...(body.edus ? { edus: body.edus } : {}) };
    const url = `/_matrix/federation/v1/send/${txnId}`;
    const authorization = signRequest({ method: 'PUT', uri: url, origin: REMOTE, destination: LOCAL, content }, remoteKey);
    const res = await federation.inject({ method: 'PUT', url, payload: content, headers: { authorization } });
    return { status: res.statusCode, body: res.json() as { pdus: Record<string, { error?: string }>; errcode?: string; error?: string } };
  }

  /** An event as remote.test makes it, on the room's current head and state. */
  async function remote(draft: EventDraft, options: { key?: typeof remoteKey } = {}): Promise<RoomEvent> {
    const event = await remoteEvent(store, roomId, draft, await store.forwardExtremities(roomId), await store.currentState(roomId));
    if (!options.key) return event;
    const rules = getRoomVersion('10')!;
    const prev = await store.events(event.prevEvents);
    const auth = await store.events(event.authEvents);
    return buildEvent(draft, {
      rules, roomId, origin: REMOTE, key: options.key, now: NOW + 100,
      prevEvents: event.prevEvents.map((id) => prev.get(id)!.event), authEvents: event.authEvents.map((id) => auth.get(id)!.event),
    });
  }

  async function robJoins(): Promise<void> {
    const join = await remote({ type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } });
    const res = await send('join', { pdus: [join.pdu] });
    t.same(res.body, { pdus: { [join.eventId]: {} } }, 'the join is accepted');
  }

  async function sync(since?: string) {
    const res = await alice.call('GET', `/sync?timeout=0${since ? `&since=${encodeURIComponent(since)}` : ''}`);
    return res.body as Record<string, any>;
  }
  const timelineBodies = (body: Record<string, any>) =>
    ((body.rooms?.join?.[roomId]?.timeline?.events ?? []) as Array<{ content: { body?: string } }>).map((e) => e.content.body).filter(Boolean);

  return { app, alice, roomId, store, send, remote, robJoins, sync, timelineBodies, reachable, receiver };
}

t.test('PUT /send/{txnId}', async (t) => {
  t.test('an accepted PDU reaches local /sync; the origin is marked reachable', async (t) => {
    const w = await world(t, await testDatabase(t));
    await w.robJoins();
    const message = await w.remote({ type: 'm.room.message', sender: rob, content: { msgtype: 'm.text', body: 'hello from afar' } });
    const res = await w.send('t1', { pdus: [message.pdu] });
    t.equal(res.status, 200);
    t.same(res.body, { pdus: { [message.eventId]: {} } });
    t.ok(w.timelineBodies(await w.sync()).includes('hello from afar'), 'alice sees it');
    t.ok(w.reachable.includes(REMOTE));
  });

  t.test('forged PDUs get error entries, unauthorised ones are stored as rejected, and neither changes the room', async (t) => {
    const w = await world(t, await testDatabase(t));
    await w.robJoins();
    const before = await w.store.forwardExtremities(w.roomId);
    const forged = await w.remote({ type: 'm.room.message', sender: rob, content: { msgtype: 'm.text', body: 'forged' } }, { key: localKey });
    const intruder = await w.remote({ type: 'm.room.message', sender: eve, content: { msgtype: 'm.text', body: 'let me in' } });
    const res = await w.send('bad', { pdus: [forged.pdu, intruder.pdu] });
    t.equal(res.status, 200, 'a refused PDU does not fail the transaction');
    t.match(res.body.pdus[forged.eventId], { error: /signature/ });
    // Stored as rejected is handled, as Synapse answers: the sender has nothing to retry.
    t.same(res.body.pdus[intruder.eventId], {}, 'the event failing the auth rules is handled');
    t.match((await w.store.events([intruder.eventId])).get(intruder.eventId), { rejectedReason: /sender/ }, 'and kept as rejected');
    t.equal((await w.store.events([forged.eventId])).size, 0, 'the forgery is not stored');
    t.same(await w.store.forwardExtremities(w.roomId), before, 'the room did not move');
    const bodies = w.timelineBodies(await w.sync());
    t.notOk(bodies.includes('forged') || bodies.includes('let me in'), 'alice sees neither');

    // Spec: a content hash mismatch redacts the event rather than dropping it (its signatures still hold).
    const genuine = await w.remote({ type: 'm.room.message', sender: rob, content: { msgtype: 'm.text', body: 'original' } });
    const tampered = { ...genuine.pdu, content: { msgtype: 'm.text', body: 'tampered' } };
    const answer = await w.send('tampered', { pdus: [tampered] });
    t.same(answer.body.pdus[genuine.eventId], {});
    t.notOk(w.timelineBodies(await w.sync()).includes('tampered'), 'the tampered text never reaches a client');
    t.same((await w.store.events([genuine.eventId])).get(genuine.eventId)?.event.content, {}, 'kept redacted');
  });

  t.test('a transaction is answered once: a retry gets the stored answer and is not processed again', async (t) => {
    const w = await world(t, await testDatabase(t));
    await w.robJoins();
    const first = await w.remote({ type: 'm.room.message', sender: rob, content: { msgtype: 'm.text', body: 'first' } });
    const a = await w.send('same', { pdus: [first.pdu] });
    const other = await w.remote({ type: 'm.room.message', sender: rob, content: { msgtype: 'm.text', body: 'sneaked in' } });
    const b = await w.send('same', { pdus: [other.pdu] });
    t.same(b.body, a.body, 'the same answer');
    t.equal((await w.store.events([other.eventId])).size, 0, 'the retry body was not processed');
    // Two at once from one origin: handled one after the other, both answered.
    const [c, d] = await Promise.all([w.send('p1', { pdus: [other.pdu] }), w.send('p1', { pdus: [other.pdu] })]);
    t.same(c.body, d.body);
    t.same(c.body, { pdus: { [other.eventId]: {} } });
  });

  t.test('the body is checked: origin, limits', async (t) => {
    const w = await world(t, await testDatabase(t));
    const lying = await w.send('lie', { origin: 'other.test' });
    t.equal(lying.status, 403);
    t.match(lying.body, { errcode: 'M_FORBIDDEN', error: /origin other\.test is not the server that signed/ });
    const many = await w.send('many', { pdus: Array.from({ length: 51 }, () => ({})) });
    t.equal(many.status, 400);
    t.match(many.body, { errcode: 'M_BAD_JSON', error: /at most 50 PDUs/ });
    const edus = await w.send('edus', { edus: Array.from({ length: 101 }, () => ({ edu_type: 'm.x', content: {} })) });
    t.match(edus.body, { errcode: 'M_BAD_JSON', error: /at most 100 EDUs/ });
    const unknownRoom = { ...(await w.remote({ type: 'm.room.message', sender: rob, content: { body: 'x' } })).pdu, room_id: '!nowhere:remote.test' };
    const res = await w.send('nowhere', { pdus: [unknownRoom] });
    t.match(Object.values(res.body.pdus), [{ error: /not in room !nowhere:remote\.test/ }], 'a PDU for a room we are not in gets an error entry');
  });

  t.test("an origin denied by the room's server ACL has its PDUs refused", async (t) => {
    const w = await world(t, await testDatabase(t));
    await w.robJoins();
    const acl = await w.alice.call('PUT', `/rooms/${encodeURIComponent(w.roomId)}/state/m.room.server_acl/`, { allow: ['*'], deny: [REMOTE] });
    t.equal(acl.status, 200);
    const message = await w.remote({ type: 'm.room.message', sender: rob, content: { msgtype: 'm.text', body: 'denied' } });
    const res = await w.send('acl', { pdus: [message.pdu], edus: [{ edu_type: 'm.typing', content: { room_id: w.roomId, user_id: rob, typing: true } }] });
    t.match(res.body.pdus[message.eventId], { error: /denied access .* server ACL/ });
    t.equal((await w.store.events([message.eventId])).size, 0);
    const sync = await w.sync();
    t.same(sync.rooms.join[w.roomId].ephemeral?.events?.filter((e: { type: string }) => e.type === 'm.typing').flatMap((e: any) => e.content.user_ids) ?? [], [], 'its typing is ignored');
  });

  t.test('EDUs reach local /sync: typing, receipts, presence, to-device, device lists; other servers’ users are ignored', async (t) => {
    const w = await world(t, await testDatabase(t));
    await w.robJoins();
    const first = await w.sync();
    const eventId = await w.alice.send(w.roomId, 'read me');
    const mallory = '@mallory:other.test';
    const res = await w.send('edus', {
      edus: [
        { edu_type: 'm.typing', content: { room_id: w.roomId, user_id: rob, typing: true } },
        { edu_type: 'm.typing', content: { room_id: w.roomId, user_id: mallory, typing: true } },
        { edu_type: 'm.receipt', content: { [w.roomId]: { 'm.read': {
          [rob]: { event_ids: [eventId], data: { ts: NOW } },
          [mallory]: { event_ids: [eventId], data: { ts: NOW } },
        } } } },
        { edu_type: 'm.presence', content: { push: [
          { user_id: rob, presence: 'online', last_active_ago: 1000, status_msg: 'busy', currently_active: true },
          { user_id: mallory, presence: 'online', last_active_ago: 1000 },
        ] } },
        { edu_type: 'm.direct_to_device', content: { sender: rob, type: 'm.test', message_id: 'm1', messages: { [w.alice.userId]: { '*': { secret: 1 } } } } },
        { edu_type: 'm.direct_to_device', content: { sender: mallory, type: 'm.test', message_id: 'm2', messages: { [w.alice.userId]: { '*': { secret: 2 } } } } },
        { edu_type: 'm.device_list_update', content: { user_id: rob, device_id: 'D1', stream_id: 1, prev_id: [] } },
        { edu_type: 'm.unknown_thing', content: { anything: true } },
      ],
    });
    t.same(res.body, { pdus: {} });
    await busSettled();
    const sync = await w.sync(first.next_batch);
    const ephemeral = sync.rooms.join[w.roomId].ephemeral.events as Array<{ type: string; content: any }>;
    t.same(ephemeral.find((e) => e.type === 'm.typing')?.content.user_ids, [rob], 'rob types; mallory is not of remote.test');
    t.same(Object.keys(ephemeral.find((e) => e.type === 'm.receipt')?.content[eventId]['m.read'] ?? {}), [rob], "rob's receipt only");
    const presence = (sync.presence?.events ?? []) as Array<{ sender: string; content: any }>;
    t.match(presence.find((e) => e.sender === rob)?.content, { presence: 'online', status_msg: 'busy' });
    t.notOk(presence.some((e) => e.sender === mallory));
    t.same((sync.to_device?.events ?? []).map((e: any) => [e.sender, e.content.secret]), [[rob, 1]], 'the to-device message from rob only');
    t.ok(sync.device_lists?.changed?.includes(rob), "rob's device list changed");

    // The same to-device message id again (a new transaction): delivered once.
    await w.send('edus2', { edus: [{ edu_type: 'm.direct_to_device', content: { sender: rob, type: 'm.test', message_id: 'm1', messages: { [w.alice.userId]: { '*': { secret: 1 } } } } }] });
    const again = await w.sync(sync.next_batch);
    t.same(again.to_device?.events ?? [], [], 'message ids are deduplicated');
  });

  t.test("a server a local join is going through: its users' presence is kept before the room is shared", async (t) => {
    const joining = new Set<string>();
    const w = await world(t, await testDatabase(t), { joiningThrough: (server) => joining.has(server) });
    const first = await w.sync();
    const presence = (statusMsg: string) => ({ edu_type: 'm.presence', content: { push: [{ user_id: rob, presence: 'online', last_active_ago: 0, status_msg: statusMsg }] } });
    await w.send('early', { edus: [presence('a stranger')] });
    joining.add(REMOTE);
    // A resident server sends its members' presence as soon as it has let the join in.
    await w.send('during', { edus: [presence('joining you')] });
    joining.delete(REMOTE);
    await w.send('stranger', { edus: [{ edu_type: 'm.presence', content: { push: [{ user_id: '@stranger:remote.test', presence: 'online' }] } }] });
    await w.robJoins();
    await busSettled();
    const sync = await w.sync(first.next_batch);
    const events = (sync.presence?.events ?? []) as Array<{ sender: string; content: any }>;
    t.match(events.find((e) => e.sender === rob)?.content, { presence: 'online', status_msg: 'joining you' }, 'what came during the join is kept');
    t.notOk(events.some((e) => e.sender === '@stranger:remote.test'), 'other users of the server, after the join: still strangers');
  });
});
