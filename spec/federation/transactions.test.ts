import t, { type Test } from 'tap';
import { authEventsSelection, buildEvent, getRoomVersion, type EventDraft, type RoomEvent } from '../../src/events/index.js';
import { createGapFiller, GET_MISSING_LIMIT, type FederationClient } from '../../src/federation/index.js';
import { silentLogger } from '../../src/platform/logger.js';
import { testDatabase } from '../helpers/database.js';
import { REMOTE, remoteKey, roomWorld } from '../helpers/rooms.js';

const rules = getRoomVersion('10')!;
const alice = '@alice:hearth.test';
const rob = `@rob:${REMOTE}`;

interface Asked {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly body?: Record<string, unknown>;
}

/** A room with rob (remote.test) joined, and a way to make rob's events on prev events we may not have. */
async function setup(t: Test) {
  const db = await testDatabase(t);
  const world = roomWorld(t, db);
  const { roomId } = await world.rooms.createRoom({ creator: alice, roomVersion: '10', preset: 'public_chat' });
  let ts = 1_700_000_100_000;
  const make = async (draft: EventDraft, prevEvents: RoomEvent[]): Promise<RoomEvent> => {
    const state = await world.store.currentState(roomId);
    const authIds = authEventsSelection({ ...draft, stateKey: draft.stateKey }, rules).map((key) => state.get(key)).filter((id): id is string => id !== undefined);
    const auth = await world.store.events(authIds);
    return buildEvent(draft, { rules, roomId, origin: REMOTE, key: remoteKey, now: ts++, prevEvents, authEvents: authIds.map((id) => auth.get(id)!.event) });
  };
  const head = async () => {
    const ids = await world.store.forwardExtremities(roomId);
    return [...(await world.store.events(ids)).values()].map((s) => s.event);
  };
  const join = await make({ type: 'm.room.member', stateKey: rob, sender: rob, content: { membership: 'join' } }, await head());
  t.match(await world.receive.receivePdu(roomId, join.pdu, REMOTE), { status: 'accepted' });
  const message = (body: string, prev: RoomEvent[]) => make({ type: 'm.room.message', sender: rob, content: { msgtype: 'm.text', body } }, prev);

  const asked: Asked[] = [];
  let answer: (request: Asked) => unknown = () => undefined;
  const client = {
    request: async (_destination: string, method: string, path: string, options: { query?: Record<string, string>; body?: Record<string, unknown> } = {}) => {
      const request = { method, path, ...options };
      asked.push(request);
      const json = answer(request);
      if (json === undefined) throw new Error('404');
      return json;
    },
  } as FederationClient;
  const filler = createGapFiller({ client, pipeline: world.receive, rooms: world.store, log: silentLogger() });
  return { ...world, roomId, head, message, asked, filler, answerWith: (fn: typeof answer) => (answer = fn) };
}

t.test('a gap before a PDU is filled with get_missing_events from its sender, oldest first', async (t) => {
  const w = await setup(t);
  const extremities = await w.store.forwardExtremities(w.roomId);
  const a = await w.message('a', await w.head());
  const b = await w.message('b', [a]);
  const c = await w.message('c', [b]);
  w.answerWith((request) => (request.path.startsWith('/_matrix/federation/v1/get_missing_events/') ? { events: [b.pdu, a.pdu] } : undefined));

  const outcome = await w.filler.receiveFilling(w.roomId, rules, c.pdu, REMOTE);
  t.match(outcome, { status: 'accepted', eventId: c.eventId });
  t.match(w.asked[0], {
    method: 'POST',
    path: `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(w.roomId)}`,
    body: { earliest_events: extremities, latest_events: [c.eventId], limit: GET_MISSING_LIMIT },
  });
  const stored = await w.store.events([a.eventId, b.eventId]);
  t.ok(stored.get(a.eventId)?.streamPosition && stored.get(b.eventId)?.streamPosition, 'both missing events are on the timeline');
  t.ok(stored.get(a.eventId)!.streamPosition! < stored.get(b.eventId)!.streamPosition!, 'in DAG order though sent newest first');
  t.same(await w.store.forwardExtremities(w.roomId), [c.eventId]);
});

t.test('when get_missing_events does not close the gap, the state at the unknown prev event is fetched and checked', async (t) => {
  const w = await setup(t);
  const a = await w.message('a', await w.head());
  const b = await w.message('b', [a]);
  const c = await w.message('c', [b]);
  const state = await w.store.currentState(w.roomId);
  const stateIds = [...state.values()];
  w.answerWith((request) => {
    // Only b: the gap goes on before it, to a.
    if (request.path.startsWith('/_matrix/federation/v1/get_missing_events/')) return { events: [b.pdu] };
    if (request.path.startsWith('/_matrix/federation/v1/state_ids/') && request.query?.event_id === a.eventId) return { pdu_ids: stateIds, auth_chain_ids: [] };
    if (request.path === `/_matrix/federation/v1/event/${encodeURIComponent(a.eventId)}`) return { origin: REMOTE, origin_server_ts: 0, pdus: [a.pdu] };
    return undefined;
  });
  const outcome = await w.filler.receiveFilling(w.roomId, rules, c.pdu, REMOTE);
  t.match(outcome, { status: 'accepted', eventId: c.eventId });
  const stored = await w.store.events([a.eventId, b.eventId, c.eventId]);
  t.equal(stored.get(a.eventId)?.outlier, true, 'the unknown prev event is kept as an outlier');
  t.ok(stored.get(b.eventId)?.streamPosition && stored.get(c.eventId)?.streamPosition, 'the returned event and the sent one are on the timeline');
  t.same(new Set(await w.store.stateBefore(b.eventId).then((s) => [...(s?.values() ?? [])])), new Set(stateIds), 'its state is the state given');
});

t.test('when the sender gives no event of the gap, the PDU is dropped and no state is asked for', async (t) => {
  const w = await setup(t);
  const a = await w.message('a', await w.head());
  const b = await w.message('b', [a]);
  w.answerWith((request) => (request.path.startsWith('/_matrix/federation/v1/get_missing_events/') ? { events: [] } : undefined));
  const outcome = await w.filler.receiveFilling(w.roomId, rules, b.pdu, REMOTE);
  t.match(outcome, { status: 'missing', eventId: b.eventId });
  t.same(w.asked.map((r) => r.path.split('/')[4]), ['get_missing_events'], 'no /state_ids: the event is not taken on that server\'s word');
  t.notOk((await w.store.events([b.eventId])).has(b.eventId), 'nothing stored, so it can come back through a later gap');
});

t.test('state a server gives must hold up: a state naming an event it will not hand over is refused and nothing is stored', async (t) => {
  const w = await setup(t);
  const a = await w.message('a', await w.head());
  const b = await w.message('b', [a]);
  const c = await w.message('c', [b]);
  w.answerWith((request) => {
    if (request.path.startsWith('/_matrix/federation/v1/get_missing_events/')) return { events: [b.pdu] };
    if (request.path.startsWith('/_matrix/federation/v1/state_ids/')) return { pdu_ids: ['$made-up-state-event'], auth_chain_ids: [] };
    if (request.path === `/_matrix/federation/v1/event/${encodeURIComponent(a.eventId)}`) return { origin: REMOTE, origin_server_ts: 0, pdus: [a.pdu] };
    if (request.path === `/_matrix/federation/v1/event/${encodeURIComponent(b.eventId)}`) return { origin: REMOTE, origin_server_ts: 0, pdus: [b.pdu] };
    return undefined;
  });
  const outcome = await w.filler.receiveFilling(w.roomId, rules, c.pdu, REMOTE);
  t.match(outcome, { status: 'rejected', reason: /not stored/ });
  t.notOk((await w.store.events([c.eventId])).has(c.eventId), 'the event is not stored, so a truthful server can still deliver it');
  t.ok(w.asked.length < 10, 'a bounded number of requests');
});

t.test('get_missing_events answers are capped and events of other rooms ignored', async (t) => {
  const w = await setup(t);
  const chain: RoomEvent[] = [];
  let prev = await w.head();
  for (let i = 0; i < 15; i++) {
    const next = await w.message(`m${i}`, prev);
    chain.push(next);
    prev = [next];
  }
  const last = await w.message('last', prev);
  w.answerWith((request) => (request.path.startsWith('/_matrix/federation/v1/get_missing_events/')
    ? { events: [...chain.map((e) => e.pdu), { ...chain[0]!.pdu, room_id: '!elsewhere:remote.test' }] }
    : undefined));
  const outcome = await w.filler.receiveFilling(w.roomId, rules, last.pdu, REMOTE);
  t.not(outcome.status, 'accepted', 'a gap longer than the limit is not closed by taking more than asked for');
  const gmes = w.asked.filter((r) => r.path.startsWith('/_matrix/federation/v1/get_missing_events/'));
  t.equal(gmes.length, 1, 'get_missing_events is asked once per PDU');
});
