import t from 'tap';
import { encodeBase64, signableJson, signBytes, withSignature } from '../../src/crypto/index.js';
import { buildEvent, type EventDraft } from '../../src/events/builder.js';
import { getRoomVersion, redactEvent, stateKey, type PduJson, type RoomEvent } from '../../src/events/index.js';
import { FederationRequestError } from '../../src/federation/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { MatrixError, RelayedMatrixError, type UserId } from '../../src/protocol/index.js';
import { createRemoteMembership, type FederationRequests } from '../../src/rooms/remote-membership.js';
import { createRoomStore } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';
import { counterRandom, keyring, LOCAL, localKey, REMOTE, remoteKey, roomWorld } from '../helpers/rooms.js';

/**
 * The client side of federated joins, knocks and leaves against a fake resident server: its answers are
 * built here with its key, so a test can forge one and see that nothing is stored.
 */

const rules = getRoomVersion('10')!;
const rob = `@rob:${REMOTE}`;
const bob = `@bob:${LOCAL}`;
const NOW = 1_700_000_000_000;

/**
 * The resident server's room: create, rob's join, power levels, a public join rule; each signed by remote.test.
 * `createVersion`: what the create event says the room's version is (the events are built as version 10).
 */
function residentRoom(roomId: string, createVersion = '10') {
  const state = new Map<string, RoomEvent>();
  const events: RoomEvent[] = [];
  const add = (draft: EventDraft, auth: readonly string[]) => {
    const event = buildEvent(draft, {
      rules, roomId, origin: REMOTE, key: remoteKey, now: NOW + events.length,
      prevEvents: events.slice(-1), authEvents: auth.map((key) => state.get(key)!),
    });
    events.push(event);
    if (event.stateKey !== undefined) state.set(stateKey(event.type, event.stateKey), event);
    return event;
  };
  const k = (type: string, key = '') => stateKey(type, key);
  add({ type: 'm.room.create', stateKey: '', sender: rob, content: { room_version: createVersion, creator: rob } }, []);
  add({ type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, [k('m.room.create')]);
  add({ type: 'm.room.power_levels', stateKey: '', sender: rob, content: { users: { [rob]: 100 } } }, [k('m.room.create'), k('m.room.member', rob)]);
  add({ type: 'm.room.join_rules', stateKey: '', sender: rob, content: { join_rule: 'public' } }, [k('m.room.create'), k('m.room.member', rob), k('m.room.power_levels')]);
  add({ type: 'm.room.name', stateKey: '', sender: rob, content: { name: 'Far away' } }, [k('m.room.create'), k('m.room.member', rob), k('m.room.power_levels')]);
  const template = (userId: string, membership: string) => ({
    type: 'm.room.member', state_key: userId, sender: userId, room_id: roomId, origin: REMOTE, origin_server_ts: NOW,
    content: { membership }, depth: events.length + 1, prev_events: [events.at(-1)!.eventId],
    auth_events: [k('m.room.create'), k('m.room.power_levels'), k('m.room.join_rules')].map((key) => state.get(key)!.eventId),
  });
  return { events, state, template };
}

type Handler = (destination: string, method: string, path: string, body: unknown) => unknown;

function world(t: Parameters<Parameters<typeof eachEngine>[2]>[0], db: Parameters<Parameters<typeof eachEngine>[2]>[1], handler: Handler) {
  const store = createRoomStore(db.sql);
  const seen: string[] = [];
  const notified: string[][] = [];
  const federation: FederationRequests = {
    async request<T>(destination: string, method: string, path: string, options: { body?: unknown } = {}) {
      seen.push(`${method} ${destination} ${path.split('/').slice(0, 5).join('/')}`);
      return handler(destination, method, path, options.body) as T;
    },
  };
  const remote = createRemoteMembership({
    store, federation, keys: keyring, log: silentLogger(), clock: fixedClock(NOW + 1000), random: counterRandom(),
    serverName: LOCAL, signingKey: localKey,
    notifier: { eventsPersisted: (_roomId, _position, members = []) => void notified.push([...members]) },
    prepare: async () => { throw new Error('no invites here'); },
    receive: { receivePdu: async () => ({ status: 'rejected' }) },
  });
  t.teardown(() => undefined);
  return { store, remote, seen, notified };
}

const roomId = `!far:${REMOTE}`;

/** A fake resident: make_join gives the template; send_join the state and auth chain (after `tamper`). */
function resident(tamper: (state: RoomEvent[]) => unknown[] = (state) => state.map((e) => e.pdu)): Handler {
  const room = residentRoom(roomId);
  return (_destination, method, path) => {
    if (method === 'GET' && path.startsWith('/_matrix/federation/v1/make_join/')) return { room_version: '10', event: room.template(bob, 'join') };
    if (method === 'PUT' && path.startsWith('/_matrix/federation/v2/send_join/')) {
      const state = tamper([...room.state.values()]);
      return { origin: REMOTE, state, auth_chain: room.events.filter((e) => e.type !== 'm.room.name').map((e) => e.pdu) };
    }
    if (method === 'GET' && path.startsWith('/_matrix/federation/v1/make_knock/')) return { room_version: '10', event: room.template(bob, 'knock') };
    if (method === 'PUT' && path.startsWith('/_matrix/federation/v1/send_knock/')) {
      return { knock_room_state: [{ type: 'm.room.name', state_key: '', sender: rob, content: { name: 'Far away' } }] };
    }
    if (method === 'GET' && path.startsWith('/_matrix/federation/v1/make_leave/')) return { room_version: '10', event: room.template(bob, 'leave') };
    if (method === 'PUT' && path.startsWith('/_matrix/federation/v2/send_leave/')) return {};
    throw new FederationRequestError(REMOTE, 'remote', 'not found', { remoteStatus: 404, remoteErrcode: 'M_NOT_FOUND' });
  };
}

async function membershipOf(store: ReturnType<typeof createRoomStore>, userId: string) {
  const key = stateKey('m.room.member', userId);
  const id = (await store.currentStateEntries(roomId, [key])).get(key);
  return id === undefined ? undefined : (await store.events([id])).get(id);
}

t.test('remote membership', async (t) => {
  await eachEngine(t, 'a join through the resident server stores the room, its state and the join', async (t, db) => {
    const { store, remote, seen, notified } = world(t, db, resident());
    t.equal(await remote.join(bob as never, roomId, [], { displayname: 'Bob' }), roomId);
    t.same(seen, [`GET ${REMOTE} /_matrix/federation/v1/make_join`, `PUT ${REMOTE} /_matrix/federation/v2/send_join`], 'asked the room id\'s server');
    t.match(await store.room(roomId), { roomId, roomVersion: '10', creator: rob });
    const join = await membershipOf(store, bob);
    t.match(join, { outlier: false, rejectedReason: null, event: { sender: bob, content: { membership: 'join', displayname: 'Bob' } } });
    t.type(join?.streamPosition, 'number', 'the join is on the events stream: /sync shows it');
    t.same(await store.forwardExtremities(roomId), [join!.event.eventId]);
    const state = await store.currentState(roomId);
    t.ok(state.get(stateKey('m.room.name', '')), 'the room name is in the current state');
    t.ok(state.get(stateKey('m.room.member', rob)), 'the resident member too');
    const before = await store.stateBefore(join!.event.eventId);
    t.equal(before?.size, 5, 'the state before the join is the resident server\'s state');
    t.same(notified, [[bob]]);
    t.ok(await remote.hasLocalMember(roomId), 'bob now makes the room this server\'s too');
  });

  await eachEngine(t, 'a forged event in the returned state is left out; the join fails only if what is left does not allow it', async (t, db) => {
    // The content changed after signing: the hash check would only redact, so the signature is replaced too.
    const forging = (type: string) => (state: RoomEvent[]) => state.map((e) => {
      if (e.type !== type) return e.pdu;
      const other = state.find((x) => x.type !== type && x.type !== 'm.room.create')!;
      return { ...e.pdu, content: { ...e.content, forged: true }, signatures: other.pdu.signatures };
    });
    const forgedName = world(t, db, resident(forging('m.room.name')));
    await forgedName.remote.join(bob as never, roomId, []);
    t.equal((await membershipOf(forgedName.store, bob))?.event.content.membership, 'join', 'joined without the forged event');
    const nameKey = stateKey('m.room.name', '');
    t.same([...(await forgedName.store.currentStateEntries(roomId, [nameKey])).keys()], [], 'the forged m.room.name is not in the state');
  });

  await eachEngine(t, 'a guest let into a room without guest access by a resident that does not police guests leaves at once, refused', async (t, db) => {
    // The resident's room has no m.room.guest_access (so it does not admit guests) and lets any join in.
    const sent: unknown[] = [];
    const lenient = resident();
    const { store, remote, seen } = world(t, db, (destination, method, path, body) => {
      if (path.includes('/send_join/')) sent.push(body);
      return lenient(destination, method, path, body);
    });
    const refused = await remote.join(bob as never, roomId, [], {}, { guest: true }).catch((err: unknown) => err);
    t.ok(refused instanceof MatrixError && refused.errcode === 'M_FORBIDDEN', `refused: ${String(refused)}`);
    t.match(sent, [{ content: { membership: 'join', kind: 'guest' } }], 'the join said it was a guest\'s');
    t.same(seen.slice(-2), [`GET ${REMOTE} /_matrix/federation/v1/make_leave`, `PUT ${REMOTE} /_matrix/federation/v2/send_leave`], 'and the guest left the resident\'s room');
    t.notOk(await store.room(roomId), 'nothing of the room is stored');
  });

  await eachEngine(t, 'a resident without send_join v2 is joined through v1', async (t, db) => {
    const v2 = resident();
    const v1Only: Handler = (destination, method, path, body) => {
      if (path.startsWith('/_matrix/federation/v2/send_join/')) throw new FederationRequestError(REMOTE, 'remote', 'answered HTTP 404', { remoteStatus: 404 });
      if (path.startsWith('/_matrix/federation/v1/send_join/')) return [200, v2(destination, method, path.replace('/v1/', '/v2/'), body)];
      return v2(destination, method, path, body);
    };
    const { store, remote, seen } = world(t, db, v1Only);
    await remote.join(bob as never, roomId, []);
    t.same(seen.filter((line) => line.includes('send_join')), [`PUT ${REMOTE} /_matrix/federation/v2/send_join`, `PUT ${REMOTE} /_matrix/federation/v1/send_join`]);
    t.equal((await membershipOf(store, bob))?.event.content.membership, 'join', 'joined from the [200, { state, auth_chain }] answer');
  });

  await eachEngine(t, 'a forged join rule in the returned state fails the join, and nothing is stored', async (t, db) => {
    const forge = (state: RoomEvent[]) => state.map((e) => {
      if (e.type !== 'm.room.join_rules') return e.pdu;
      const other = state.find((x) => x.type === 'm.room.name')!;
      return { ...e.pdu, signatures: other.pdu.signatures };
    });
    const { store, remote, notified } = world(t, db, resident(forge));
    const err = await remote.join(bob as never, roomId, []).catch((e: unknown) => e);
    t.type(err, MatrixError);
    t.match(err, { errcode: 'M_UNKNOWN', status: 502, message: /not allowed by the room's state/ }, 'without the join rule the join is not allowed');
    t.equal(await store.room(roomId), undefined, 'no room record');
    t.same(notified, []);
  });

  await eachEngine(t, 'a state that does not hold the create event, or one of another version, is refused', async (t, db) => {
    const { store, remote } = world(t, db, resident((state) => state.filter((e) => e.type !== 'm.room.create').map((e) => e.pdu)));
    await t.rejects(remote.join(bob as never, roomId, []), { errcode: 'M_UNKNOWN', message: /no m\.room\.create/ });
    t.equal(await store.room(roomId), undefined);
  });

  await eachEngine(t, 'make_join without room_version, then a create event of a version this server does not know: M_UNSUPPORTED_ROOM_VERSION', async (t, db) => {
    // sytest's "rejects m.room.create events with an unknown room version": the template cites events by
    // bare id, which versions 1 and 2 cannot, so the join is sent; the create event in the answer refuses it.
    const room = residentRoom(roomId, 'org.example.99');
    const sent: unknown[] = [];
    const { store, remote, seen, notified } = world(t, db, (_destination, method, path, body) => {
      if (method === 'GET' && path.startsWith('/_matrix/federation/v1/make_join/')) return { event: room.template(bob, 'join') };
      if (method === 'PUT' && path.startsWith('/_matrix/federation/v2/send_join/')) {
        sent.push(body);
        return { origin: REMOTE, state: [...room.state.values()].map((e) => e.pdu), auth_chain: room.events.map((e) => e.pdu) };
      }
      throw new Error(`unexpected ${method} ${path}`);
    });
    const err = await remote.join(bob as never, roomId, []).catch((e: unknown) => e);
    t.match(err, { errcode: 'M_UNSUPPORTED_ROOM_VERSION', status: 400, message: /org\.example\.99/ });
    t.same(seen, [`GET ${REMOTE} /_matrix/federation/v1/make_join`, `PUT ${REMOTE} /_matrix/federation/v2/send_join`]);
    t.same((sent[0] as { auth_events: unknown }).auth_events, room.template(bob, 'join').auth_events, 'the join cites the auth events as the template gave them');
    t.equal(await store.room(roomId), undefined, 'nothing stored');
    t.same(notified, []);
  });

  await eachEngine(t, 'make_join without room_version and [id, hashes] references is room version 1', async (t, db) => {
    const { remote, seen } = world(t, db, (_destination, method, path) => {
      if (method === 'GET' && path.startsWith('/_matrix/federation/v1/make_join/')) {
        // A version 1 template: the event fills in; its join then fails for want of a real room behind it.
        return { event: { type: 'm.room.member', state_key: bob, sender: bob, room_id: roomId, content: { membership: 'join' }, depth: 2, prev_events: [['$a:remote.test', {}]], auth_events: [['$a:remote.test', {}]] } };
      }
      if (method === 'PUT' && path.startsWith('/_matrix/federation/v2/send_join/')) return { state: [], auth_chain: [] };
      throw new Error(`unexpected ${method} ${path}`);
    });
    const err = await remote.join(bob as never, roomId, []).catch((e: unknown) => e);
    t.match(err, { errcode: 'M_UNKNOWN', status: 502, message: /no m\.room\.create/ }, 'the template was a valid version 1 event and was sent');
    t.match(seen.at(-1), /send_join$/);
  });

  await eachEngine(t, 'the resident server\'s refusal reaches the client with its message; no server gives M_NOT_FOUND', async (t, db) => {
    const { remote } = world(t, db, () => {
      throw new FederationRequestError(REMOTE, 'remote', 'refused', { remoteStatus: 403, remoteErrcode: 'M_FORBIDDEN', remoteError: 'You are banned from this room' });
    });
    await t.rejects(remote.join(bob as never, roomId, []), { errcode: 'M_FORBIDDEN', message: 'You are banned from this room' });
    t.match(await remote.join(bob as never, '!nowhere:hearth.test', []).catch((e: unknown) => e), { errcode: 'M_NOT_FOUND' }, 'only this server could be asked');
    const incompatible = world(t, db, () => {
      throw new FederationRequestError(REMOTE, 'remote', 'no', { remoteStatus: 400, remoteErrcode: 'M_INCOMPATIBLE_ROOM_VERSION', remoteRoomVersion: 'org.example.99' });
    });
    const refusal = await incompatible.remote.join(bob as never, roomId, []).catch((e: unknown) => e);
    t.match(refusal, { errcode: 'M_INCOMPATIBLE_ROOM_VERSION' });
    t.match((refusal as MatrixError).toJSON(), { room_version: 'org.example.99' }, 'naming the version the resident server gave');
    const unknownVersion = world(t, db, () => ({ room_version: 'org.example.99', event: {} }));
    t.match(await unknownVersion.remote.join(bob as never, roomId, []).catch((e: unknown) => e), { errcode: 'M_UNSUPPORTED_ROOM_VERSION' });
  });

  await eachEngine(t, 'any other client error of the resident server reaches the client with its errcode and status', async (t, db) => {
    // sytest's "Outbound federation passes make_join failures through to the client".
    const refusing = world(t, db, () => {
      throw new FederationRequestError(REMOTE, 'remote', 'refused', { remoteStatus: 400, remoteErrcode: 'M_TEST_ERROR_CODE', remoteError: 'denied!' });
    });
    const err = await refusing.remote.join(bob as never, roomId, []).catch((e: unknown) => e);
    t.type(err, RelayedMatrixError);
    t.match(err, { status: 400, errcode: 'M_UNKNOWN', remoteErrcode: 'M_TEST_ERROR_CODE', message: 'denied!' });
    t.same((err as MatrixError).toJSON(), { errcode: 'M_TEST_ERROR_CODE', error: 'denied!' }, 'the body carries the remote errcode');
    t.match(await refusing.remote.knock(bob as never, roomId, []).catch((e: unknown) => e), { status: 400, remoteErrcode: 'M_TEST_ERROR_CODE' }, 'a knock too');

    // The first server cannot be reached, the second refuses: the refusal is what the client hears.
    const mixed = world(t, db, (destination) => {
      if (destination === 'down.test') throw new FederationRequestError(destination, 'unreachable', 'no route');
      throw new FederationRequestError(destination, 'remote', 'refused', { remoteStatus: 404, remoteErrcode: 'M_NOT_FOUND', remoteError: 'Unknown room' });
    });
    t.match(await mixed.remote.join(bob as never, roomId, ['down.test']).catch((e: unknown) => e), { status: 404, errcode: 'M_NOT_FOUND', message: 'Unknown room' });
    t.same(mixed.seen.map((line) => line.split(' ')[1]), ['down.test', REMOTE]);

    // Not relayed: a 401 (our signature, not the client's token), a missing endpoint, a server unreachable.
    for (const failure of [
      new FederationRequestError(REMOTE, 'remote', 'no', { remoteStatus: 401, remoteErrcode: 'M_UNAUTHORIZED' }),
      new FederationRequestError(REMOTE, 'remote', 'no', { remoteStatus: 400, remoteErrcode: 'M_UNRECOGNIZED' }),
      new FederationRequestError(REMOTE, 'remote', 'no', { remoteStatus: 500, remoteErrcode: 'M_UNKNOWN' }),
      new FederationRequestError(REMOTE, 'unreachable', 'no route'),
    ]) {
      const { remote } = world(t, db, () => { throw failure; });
      const answered = await remote.join(bob as never, roomId, []).catch((e: unknown) => e);
      t.notOk(answered instanceof RelayedMatrixError, failure.message);
      t.match(answered, { errcode: 'M_NOT_FOUND', status: 404 });
    }
  });

  await eachEngine(t, 'withdrawing a knock that the resident server refuses with another error is done here alone', async (t, db) => {
    const normal = resident();
    let refuseLeave = false;
    const { store, remote } = world(t, db, (destination, method, path, body) => {
      if (refuseLeave && path.startsWith('/_matrix/federation/v1/make_leave/')) {
        throw new FederationRequestError(REMOTE, 'remote', 'no', { remoteStatus: 400, remoteErrcode: 'M_TEST_ERROR_CODE' });
      }
      return normal(destination, method, path, body);
    });
    await remote.knock(bob as never, roomId, []);
    refuseLeave = true;
    await remote.leave(bob as never, roomId);
    t.match(await membershipOf(store, bob), { event: { content: { membership: 'leave' } } });
  });

  await eachEngine(t, 'a knock is kept with the stripped state; withdrawing it goes through make_leave and send_leave', async (t, db) => {
    const { store, remote, seen } = world(t, db, resident());
    t.equal(await remote.knock(bob as never, roomId, [], 'let me in'), roomId);
    const knock = await membershipOf(store, bob);
    t.match(knock, { event: { content: { membership: 'knock', reason: 'let me in' } } });
    t.type(knock?.streamPosition, 'number');
    t.match(knock?.event.pdu.unsigned, { knock_room_state: [{ type: 'm.room.name', content: { name: 'Far away' } }] });
    t.notOk(await remote.hasLocalMember(roomId));

    await remote.leave(bob as never, roomId);
    t.match(seen.slice(-2), [`GET ${REMOTE} /_matrix/federation/v1/make_leave`, `PUT ${REMOTE} /_matrix/federation/v2/send_leave`]);
    const left = await membershipOf(store, bob);
    t.match(left, { event: { content: { membership: 'leave' } } });
    t.ok(left!.streamPosition! > knock!.streamPosition!, '/sync sees the leave after the knock');
  });
});

t.test('an invite to a server without the v2 invite API goes by v1 in rooms of version 1 and 2', async (t) => {
  await eachEngine(t, 'v2 answered 404: v1 with the event as the body, then [200, { event }]', async (t, db) => {
    const w = roomWorld(t, db);
    const alice = `@alice:${LOCAL}`;
    const { roomId: oldRoom } = await w.rooms.createRoom({ creator: alice, roomVersion: '1', preset: 'private_chat', name: 'Old room' });
    const asked: Array<{ path: string; body: Record<string, unknown> }> = [];
    let floatAnswer = false;
    const v1Rules = getRoomVersion('1')!;
    const federation: FederationRequests = {
      async request<T>(_destination: string, method: string, path: string, options: { body?: Record<string, unknown> } = {}) {
        asked.push({ path, body: options.body ?? {} });
        if (method === 'PUT' && path.startsWith('/_matrix/federation/v2/invite/')) {
          if (floatAnswer) return { event: { ...(options.body!.event as object), bad_val: 1.1 } } as T;
          throw new FederationRequestError(REMOTE, 'remote', 'answered HTTP 404', { remoteStatus: 404 });
        }
        if (method === 'PUT' && path.startsWith('/_matrix/federation/v1/invite/')) {
          // The invitee's server countersigns what it got, without the unsigned part it added nothing to.
          const { unsigned: _unsigned, ...pdu } = options.body!;
          const sig = encodeBase64(signBytes(remoteKey, signableJson(redactEvent(pdu as PduJson, v1Rules))));
          return [200, { event: withSignature(pdu, REMOTE, remoteKey.keyId, sig) }] as T;
        }
        throw new Error(`unexpected ${method} ${path}`);
      },
    };
    const remote = createRemoteMembership({
      store: w.store, federation, keys: keyring, log: silentLogger(), clock: fixedClock(NOW + 1000), random: counterRandom(),
      serverName: LOCAL, signingKey: localKey, notifier: { eventsPersisted: () => undefined },
      prepare: w.rooms.prepare, receive: w.receive,
    });
    await remote.invite(oldRoom, alice, rob as UserId);
    t.same(asked.map((a) => a.path.split('/').slice(0, 5).join('/')), ['/_matrix/federation/v2/invite', '/_matrix/federation/v1/invite']);
    const v1 = asked[1]!.body;
    t.match(v1, { type: 'm.room.member', state_key: rob, content: { membership: 'invite' } }, 'the event itself is the body');
    const stripped = (v1.unsigned as { invite_room_state: Array<Record<string, unknown>> }).invite_room_state;
    t.ok(stripped.some((e) => e.type === 'm.room.name' && (e.content as { name?: string }).name === 'Old room'), 'with the stripped state under unsigned');
    t.ok(stripped.every((e) => Object.keys(e).sort().join() === 'content,sender,state_key,type'), 'stripped: type, state_key, sender, content only');
    t.equal(await w.rooms.membershipOf(oldRoom, rob), 'invite', 'the countersigned invite is in the room');

    const { roomId: newRoom } = await w.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'private_chat' });
    asked.length = 0;
    const refused = await remote.invite(newRoom, alice, rob as UserId).then(() => undefined, (err: unknown) => err);
    t.match(refused, { errcode: 'M_UNKNOWN', status: 502 }, 'a newer room cannot go by v1');
    t.same(asked.map((a) => a.path.split('/')[3]), ['v2']);

    floatAnswer = true;
    const invalid = await remote.invite(newRoom, alice, rob as UserId).then(() => undefined, (err: unknown) => err);
    t.match(invalid, { errcode: 'M_BAD_JSON', message: /not valid for room version 10/ }, 'an answer that is not valid JSON for the room: M_BAD_JSON, as Synapse says');
    t.equal(await w.rooms.membershipOf(newRoom, rob), undefined, 'no invite stored');
  });
});
