import t from 'tap';
import { getRoomVersion, eventIdOf } from '../../src/events/index.js';
import { createBackfiller, RETRY_AFTER_MS, type BackfillDeps } from '../../src/federation/backfill.js';
import type { ReceiveOptions, ReceiveOutcome } from '../../src/rooms/index.js';
import { silentLogger } from '../../src/platform/logger.js';
import { fakeEvent } from '../helpers/room-events.js';

const ROOM = '!room:a.example';
const rules = getRoomVersion('10')!;

/** A PDU of the room at `depth`, in v10 format (ids are hashes, so the id is computed). */
function pdu(depth: number) {
  return fakeEvent({ id: 'unused', roomId: ROOM, depth, ts: 1_700_000_000_000 + depth, prev: [`$${'p'.repeat(42)}${depth % 10}`] }).pdu;
}

interface Setup {
  readonly extremities?: string[];
  readonly servers?: string[];
  /** Each server's answer to /backfill, or an error to throw. */
  readonly answers?: Record<string, unknown[] | Error>;
  readonly outcome?: (json: unknown, options: ReceiveOptions) => ReceiveOutcome['status'];
}

function setup(options: Setup = {}) {
  let now = 1_000_000;
  const asked: Array<{ server: string; query: unknown }> = [];
  const received: Array<{ depth: number; position: number | undefined; via: 'pipeline' | 'state' }> = [];
  const outcomeOf = (json: unknown, opts: ReceiveOptions, via: 'pipeline' | 'state'): ReceiveOutcome => {
    received.push({ depth: (json as { depth: number }).depth, position: opts.backfillPosition, via });
    const status = options.outcome?.(json, opts) ?? 'accepted';
    const eventId = eventIdOf(json as never, rules);
    if (status === 'missing') return { status, eventId, missing: ['$x'] };
    if (status === 'rejected') return { status, eventId, reason: 'no', stored: true };
    return { status: 'accepted', eventId, streamPosition: opts.backfillPosition ?? 0 };
  };
  let nextPosition = -1;
  const deps: BackfillDeps = {
    client: {
      request: (async (server: string, _method: string, _path: string, opts: { query?: unknown }) => {
        asked.push({ server, query: opts.query });
        const answer = options.answers?.[server] ?? [];
        if (answer instanceof Error) throw answer;
        return { origin: server, pdus: answer };
      }) as BackfillDeps['client']['request'],
    },
    pipeline: { receivePdu: async (_room, json, _origin, opts = {}) => outcomeOf(json, opts, 'pipeline') },
    gaps: { receiveWithState: async (_room, _rules, json, _origin, opts) => outcomeOf(json, { ...opts, statesBeforePrevs: new Map() }, 'state') },
    store: {
      room: async (roomId) => (roomId === ROOM ? { roomId, roomVersion: '10', creator: '@creator:c.example' } : undefined),
      backwardExtremities: async () => options.extremities ?? ['$old'],
      backfillPositions: async (count) => Array.from({ length: count }, () => nextPosition--).sort((a, b) => a - b),
    },
    servers: async () => options.servers ?? ['b.example', 'c.example'],
    serverName: 'me.example',
    clock: { now: () => now },
    log: silentLogger(),
  };
  return { backfiller: createBackfiller(deps), asked, received, advance: (ms: number) => (now += ms) };
}

t.test('asks the creator\'s server first, and stores the answer oldest first at ascending positions', async (t) => {
  const { backfiller, asked, received } = setup({ answers: { 'c.example': [pdu(5), pdu(3), pdu(4), pdu(3)] } });
  t.equal(await backfiller.backfill(ROOM, 5), true);
  t.same(asked.map((a) => a.server), ['c.example'], 'the creator\'s server answered: no one else asked');
  t.match(asked[0]!.query, { v: ['$old'], limit: '20' }, 'from the backward extremities, at least 20 events');
  t.same(received.map((r) => r.depth), [3, 4, 5], 'oldest first, a repeated event once');
  t.ok(received[0]!.position! < received[1]!.position! && received[1]!.position! < received[2]!.position!, 'older events lower');
});

t.test('an event whose prev events are unknown is checked with the state fetched for it', async (t) => {
  const { backfiller, received } = setup({
    answers: { 'c.example': [pdu(3), pdu(4)] },
    outcome: (json, opts) => ((json as { depth: number }).depth === 3 && opts.statesBeforePrevs === undefined ? 'missing' : 'accepted'),
  });
  t.equal(await backfiller.backfill(ROOM, 5), true);
  t.same(received.map((r) => [r.depth, r.via]), [[3, 'pipeline'], [3, 'state'], [4, 'pipeline']]);
  t.equal(received[0]!.position, received[1]!.position, 'at the same position');
});

t.test('goes on to the next server when one fails or has nothing new; then rests', async (t) => {
  const { backfiller, asked, advance } = setup({
    answers: { 'c.example': new Error('down'), 'b.example': [pdu(3)] },
    outcome: () => 'rejected',
  });
  t.equal(await backfiller.backfill(ROOM, 5), false, 'nothing went onto the timeline');
  t.same(asked.map((a) => a.server), ['c.example', 'b.example']);
  t.equal(await backfiller.backfill(ROOM, 5), false);
  t.equal(asked.length, 2, 'a room tried in vain is not asked again at once');
  advance(RETRY_AFTER_MS + 1);
  await backfiller.backfill(ROOM, 5);
  t.equal(asked.length, 4, 'but is after a while');
});

t.test('nothing is asked when the history is whole or no other server is in the room', async (t) => {
  const whole = setup({ extremities: [] });
  t.equal(await whole.backfiller.backfill(ROOM, 5), false);
  t.equal(whole.asked.length, 0);
  const alone = setup({ servers: ['me.example'] });
  t.equal(await alone.backfiller.backfill(ROOM, 5), false);
  t.equal(alone.asked.length, 0);
  t.equal(await alone.backfiller.backfill('!unknown:x', 5), false, 'nor for a room this server does not hold');
});

t.test('concurrent pages of one room share one backfill', async (t) => {
  const { backfiller, asked } = setup({ answers: { 'c.example': [pdu(3)] } });
  const results = await Promise.all([backfiller.backfill(ROOM, 5), backfiller.backfill(ROOM, 5)]);
  t.same(results, [true, true]);
  t.equal(asked.length, 1);
});
