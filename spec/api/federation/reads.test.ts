import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { stateKey, type RoomEvent } from '../../../src/events/index.js';
import type { RoomStore } from '../../../src/rooms/index.js';
import { eachEngine } from '../../helpers/database.js';
import { federationReadsApp, ORIGIN_HEADER, remoteEvent } from '../../helpers/federation.js';
import { LOCAL, REMOTE, roomWorld } from '../../helpers/rooms.js';
import type { Database } from '../../../src/storage/index.js';
import type { Test } from 'tap';

const alice = '@alice:hearth.test';
const rob = '@rob:remote.test';
const STRANGER = 'stranger.test';

/**
 * A room made by alice (public_chat: history 'shared'), joined by rob of remote.test through the receive
 * pipeline, then five messages m1..m5, one per second.
 */
async function setup(t: Test, db: Database) {
  const world = roomWorld(t, db);
  const { store, rooms, receive, clock } = world;
  const { roomId } = await rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
  const head = async () => (await store.forwardExtremities(roomId))[0]!;
  const join = await remoteEvent(store, roomId, { type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, [await head()], await store.currentState(roomId));
  t.match(await receive.receivePdu(roomId, join.pdu, REMOTE), { status: 'accepted' });
  const messages: RoomEvent[] = [];
  for (let i = 1; i <= 5; i++) {
    clock.advance(1000);
    messages.push((await rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: `m${i}` } })).event);
  }
  const app = await federationReadsApp(t, db);
  return { ...world, roomId, join, messages, app };
}

function get(app: FastifyInstance, url: string, origin: string | null = REMOTE) {
  return app.inject({ method: 'GET', url, headers: origin === null ? {} : { [ORIGIN_HEADER]: origin } });
}

function post(app: FastifyInstance, url: string, payload: object, origin: string = REMOTE) {
  return app.inject({ method: 'POST', url, payload, headers: { [ORIGIN_HEADER]: origin } });
}

const enc = encodeURIComponent;
const ids = (pdus: Array<Record<string, unknown>>, store: Map<string, string>) => pdus.map((p) => store.get(JSON.stringify(p)) ?? '?');

/** The auth chain by walking auth_events in the store: what a complete answer must hold. */
async function closure(store: RoomStore, starts: readonly string[]): Promise<Set<string>> {
  const chain = new Set<string>();
  let frontier = [...starts];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const found = await store.events(frontier);
    const next: string[] = [];
    for (const stored of found.values()) {
      for (const id of stored.event.authEvents) {
        chain.add(id);
        if (!seen.has(id)) {
          seen.add(id);
          next.push(id);
        }
      }
    }
    frontier = next;
  }
  return chain;
}

/** Event ids of PDUs by their JSON, since PDUs carry no event_id from room version 3. */
async function pduIndex(store: RoomStore, roomId: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  const state = await store.currentState(roomId);
  const all = await closure(store, [...state.values(), ...(await store.forwardExtremities(roomId))]);
  for (const id of [...state.values(), ...all]) index.set(id, id);
  return index;
}

t.test('federation room reads', async (t) => {
  await eachEngine(t, 'GET /event serves the PDU as stored, in a transaction from this server', async (t, db) => {
    const { app, store, messages } = await setup(t, db);
    const m3 = messages[2]!;
    const res = await get(app, `/_matrix/federation/v1/event/${enc(m3.eventId)}`);
    t.equal(res.statusCode, 200);
    const body = res.json();
    t.equal(body.origin, LOCAL);
    t.type(body.origin_server_ts, 'number');
    t.equal(body.pdus.length, 1);
    const stored = (await store.events([m3.eventId])).get(m3.eventId)!;
    t.equal(JSON.stringify(body.pdus[0]), JSON.stringify(stored.event.pdu), 'byte for byte the signed JSON');

    const unknown = await get(app, `/_matrix/federation/v1/event/${enc('$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')}`);
    t.equal(unknown.statusCode, 404);
    t.equal(unknown.json().errcode, 'M_NOT_FOUND');
    const malformed = await get(app, `/_matrix/federation/v1/event/not-an-id`);
    t.equal(malformed.statusCode, 400);
    t.equal(malformed.json().errcode, 'M_INVALID_PARAM');
    const unsigned = await get(app, `/_matrix/federation/v1/event/${enc(m3.eventId)}`, null);
    t.equal(unsigned.statusCode, 401, 'no origin: refused, never served');
    t.equal(unsigned.json().errcode, 'M_UNAUTHORIZED');
  });

  await eachEngine(t, '/state_ids and /state give the state before the event and its whole auth chain', async (t, db) => {
    const { app, store, roomId, messages, join } = await setup(t, db);
    const m1 = messages[0]!;
    const res = await get(app, `/_matrix/federation/v1/state_ids/${enc(roomId)}?event_id=${enc(m1.eventId)}`);
    t.equal(res.statusCode, 200);
    const body = res.json() as { pdu_ids: string[]; auth_chain_ids: string[] };
    const before = (await store.stateBefore(m1.eventId))!;
    t.same(new Set(body.pdu_ids), new Set(before.values()), 'the state before m1');
    t.ok(body.pdu_ids.includes(join.eventId), "rob's join is in it");
    t.same(new Set(body.auth_chain_ids), await closure(store, [...before.values()]), 'every auth event, recursively');
    const create = before.get(stateKey('m.room.create', ''))!;
    t.ok(body.auth_chain_ids.includes(create));

    // The state at the join itself is before it: rob is not in it yet.
    const atJoin = (await get(app, `/_matrix/federation/v1/state_ids/${enc(roomId)}?event_id=${enc(join.eventId)}`)).json();
    t.notOk(atJoin.pdu_ids.includes(join.eventId), 'state "at" an event is the state before it');

    const full = await get(app, `/_matrix/federation/v1/state/${enc(roomId)}?event_id=${enc(m1.eventId)}`);
    t.equal(full.statusCode, 200);
    const index = await pduIndex(store, roomId);
    const stored = await store.events([...body.pdu_ids, ...body.auth_chain_ids]);
    for (const id of [...body.pdu_ids, ...body.auth_chain_ids]) index.set(JSON.stringify(stored.get(id)!.event.pdu), id);
    t.same(new Set(ids(full.json().pdus, index)), new Set(body.pdu_ids), '/state serves the same events');
    t.same(new Set(ids(full.json().auth_chain, index)), new Set(body.auth_chain_ids));

    const missingParam = await get(app, `/_matrix/federation/v1/state_ids/${enc(roomId)}`);
    t.equal(missingParam.json().errcode, 'M_INVALID_PARAM');
    const otherRoom = await get(app, `/_matrix/federation/v1/state_ids/${enc('!nope:hearth.test')}?event_id=${enc(m1.eventId)}`);
    t.equal(otherRoom.statusCode, 404);
  });

  await eachEngine(t, '/event_auth gives the auth chain of the event', async (t, db) => {
    const { app, store, roomId, messages } = await setup(t, db);
    const m2 = messages[1]!;
    const res = await get(app, `/_matrix/federation/v1/event_auth/${enc(roomId)}/${enc(m2.eventId)}`);
    t.equal(res.statusCode, 200);
    const chain = await closure(store, [m2.eventId]);
    const stored = await store.events([...chain]);
    const index = new Map([...stored.values()].map((s) => [JSON.stringify(s.event.pdu), s.event.eventId]));
    t.same(new Set(ids(res.json().auth_chain, index)), chain);
    t.notOk(ids(res.json().auth_chain, index).includes('?'));
  });

  await eachEngine(t, '/backfill walks back from v, newest first, up to the limit', async (t, db) => {
    const { app, store, roomId, messages } = await setup(t, db);
    const [m1, m2, m3, m4, m5] = messages as [RoomEvent, RoomEvent, RoomEvent, RoomEvent, RoomEvent];
    const stored = await store.events(messages.map((m) => m.eventId));
    const index = new Map([...stored.values()].map((s) => [JSON.stringify(s.event.pdu), s.event.eventId]));
    const res = await get(app, `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc(m5.eventId)}&limit=3`);
    t.equal(res.statusCode, 200);
    t.equal(res.json().origin, LOCAL);
    t.same(ids(res.json().pdus, index), [m5.eventId, m4.eventId, m3.eventId], 'v itself, then its ancestors');
    const two = await get(app, `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc(m3.eventId)}&v=${enc(m2.eventId)}&limit=2`);
    t.same(ids(two.json().pdus, index), [m3.eventId, m2.eventId]);
    const all = (await get(app, `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc(m1.eventId)}&limit=100`)).json().pdus as Array<Record<string, unknown>>;
    t.equal(all.at(-1)?.type, 'm.room.create', 'down to the create event');
    const depths = all.map((p) => p.depth as number);
    t.same(depths, [...depths].sort((a, b) => b - a), 'deepest first');
    const unknown = await get(app, `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc('$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')}&limit=3`);
    t.equal(unknown.statusCode, 200);
    t.same(unknown.json().pdus, [], 'from an unknown event: nothing');
    const noLimit = await get(app, `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc(m5.eventId)}`);
    t.equal(noLimit.json().errcode, 'M_INVALID_PARAM');
  });

  await eachEngine(t, '/get_missing_events walks back from latest_events, stopping at earliest_events', async (t, db) => {
    const { app, store, roomId, messages } = await setup(t, db);
    const [m1, m2, m3, m4, m5] = messages as [RoomEvent, RoomEvent, RoomEvent, RoomEvent, RoomEvent];
    const stored = await store.events(messages.map((m) => m.eventId));
    const index = new Map([...stored.values()].map((s) => [JSON.stringify(s.event.pdu), s.event.eventId]));
    const url = `/_matrix/federation/v1/get_missing_events/${enc(roomId)}`;
    const res = await post(app, url, { earliest_events: [m1.eventId], latest_events: [m5.eventId] });
    t.equal(res.statusCode, 200);
    t.same(ids(res.json().events, index), [m2.eventId, m3.eventId, m4.eventId], 'between the two, oldest first, neither end included');
    const limited = await post(app, url, { earliest_events: [m1.eventId], latest_events: [m5.eventId], limit: 2 });
    t.same(ids(limited.json().events, index), [m3.eventId, m4.eventId], 'the nearest to latest_events first');
    const deep = await post(app, url, { earliest_events: [], latest_events: [m5.eventId], min_depth: m3.depth });
    t.same(ids(deep.json().events, index), [m3.eventId, m4.eventId], 'nothing below min_depth');
    const defaults = await post(app, url, { earliest_events: [], latest_events: [m5.eventId] });
    t.equal(defaults.json().events.length, 10, 'limit defaults to 10');
    const bad = await post(app, url, { latest_events: [m5.eventId] });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().errcode, 'M_BAD_JSON');
  });

  await eachEngine(t, 'a server not in the room is refused unless the history is world_readable', async (t, db) => {
    const { app, rooms, roomId, messages } = await setup(t, db);
    const m2 = messages[1]!;
    for (const url of [
      `/_matrix/federation/v1/event/${enc(m2.eventId)}`,
      `/_matrix/federation/v1/state_ids/${enc(roomId)}?event_id=${enc(m2.eventId)}`,
      `/_matrix/federation/v1/state/${enc(roomId)}?event_id=${enc(m2.eventId)}`,
      `/_matrix/federation/v1/event_auth/${enc(roomId)}/${enc(m2.eventId)}`,
      `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc(m2.eventId)}&limit=5`,
    ]) {
      const res = await get(app, url, STRANGER);
      t.equal(res.statusCode, 403, url);
      t.equal(res.json().errcode, 'M_FORBIDDEN');
    }
    const missing = await post(app, `/_matrix/federation/v1/get_missing_events/${enc(roomId)}`, { earliest_events: [], latest_events: [m2.eventId] }, STRANGER);
    t.equal(missing.statusCode, 403);

    await rooms.send(roomId, { type: 'm.room.history_visibility', stateKey: '', sender: alice, content: { history_visibility: 'world_readable' } });
    const open = (await rooms.send(roomId, { type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'for all' } })).event;
    const res = await get(app, `/_matrix/federation/v1/event/${enc(open.eventId)}`, STRANGER);
    t.equal(res.statusCode, 200, 'world_readable history: anyone may read it');
    t.equal(res.json().pdus[0].content.body, 'for all');
    t.equal((await get(app, `/_matrix/federation/v1/state_ids/${enc(roomId)}?event_id=${enc(open.eventId)}`, STRANGER)).statusCode, 200);
    t.equal((await get(app, `/_matrix/federation/v1/event/${enc(m2.eventId)}`, STRANGER)).statusCode, 403, 'what came before stays closed');
    const walk = await get(app, `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc(open.eventId)}&limit=3`, STRANGER);
    t.equal(walk.statusCode, 200);
    const [first, , third] = walk.json().pdus;
    t.equal(first.content.body, 'for all');
    t.same(third.content, {}, 'an earlier message the stranger may not see comes redacted, keeping the DAG whole');
  });

  await eachEngine(t, 'a server the room ACL denies is refused', async (t, db) => {
    const { app, rooms, roomId, messages } = await setup(t, db);
    const m1 = messages[0]!;
    await rooms.send(roomId, { type: 'm.room.server_acl', stateKey: '', sender: alice, content: { allow: ['*'], deny: ['remote.test', '*.evil.test'] } });
    for (const url of [
      `/_matrix/federation/v1/event/${enc(m1.eventId)}`,
      `/_matrix/federation/v1/state_ids/${enc(roomId)}?event_id=${enc(m1.eventId)}`,
      `/_matrix/federation/v1/backfill/${enc(roomId)}?v=${enc(m1.eventId)}&limit=5`,
    ]) {
      const res = await get(app, url, REMOTE);
      t.equal(res.statusCode, 403, url);
      t.match(res.json(), { errcode: 'M_FORBIDDEN', error: /server ACL/ });
    }
    const missing = await post(app, `/_matrix/federation/v1/get_missing_events/${enc(roomId)}`, { earliest_events: [], latest_events: [m1.eventId] }, 'a.evil.test:8448');
    t.equal(missing.statusCode, 403, 'globs match the server name without its port');
  });

  await eachEngine(t, 'a redacted event is served redacted', async (t, db) => {
    const { app, rooms, messages, roomId } = await setup(t, db);
    const m2 = messages[1]!;
    await rooms.send(roomId, { type: 'm.room.redaction', sender: alice, content: {}, redacts: m2.eventId });
    const res = await get(app, `/_matrix/federation/v1/event/${enc(m2.eventId)}`);
    t.equal(res.statusCode, 200);
    t.same(res.json().pdus[0].content, {});
    t.ok(res.json().pdus[0].signatures, 'signatures and hashes stay');
  });

  await eachEngine(t, '/timestamp_to_event finds the event nearest a time', async (t, db) => {
    const { app, roomId, messages } = await setup(t, db);
    const m3 = messages[2]!;
    const url = (ts: number, dir: string) => `/_matrix/federation/v1/timestamp_to_event/${enc(roomId)}?ts=${ts}&dir=${dir}`;
    t.same((await get(app, url(m3.originServerTs - 1, 'f'))).json(), { event_id: m3.eventId, origin_server_ts: m3.originServerTs });
    t.same((await get(app, url(m3.originServerTs + 1, 'b'))).json(), { event_id: m3.eventId, origin_server_ts: m3.originServerTs });
    t.equal((await get(app, url(m3.originServerTs + 1_000_000, 'f'))).statusCode, 404);
    t.equal((await get(app, url(m3.originServerTs, 'x'))).json().errcode, 'M_INVALID_PARAM');
    t.equal((await get(app, url(m3.originServerTs, 'f'), STRANGER)).statusCode, 403);
  });
});
