import t from 'tap';
import type { RoomEvent } from '../../src/events/index.js';
import { createContext } from '../../src/state/context.js';
import { isPowerEvent, mainlineOrder, reverseTopologicalPowerOrder } from '../../src/state/ordering.js';
import { loadFixture } from './fixtures/load.js';

// The power-levels-demotion room (v10 run): Alice 100 and Bob 50 under $pl1, which cites $pl0.
const run = loadFixture('power-levels-demotion.json').runs.find((r) => r.rules.id === '10');
if (run === undefined) throw new Error('fixture has no v10 run');
const known = run.events;
const base = known.get('$topic0') as RoomEvent;

function variant(id: string, fields: Partial<RoomEvent>): RoomEvent {
  return { ...base, eventId: id, ...fields };
}

t.test('power ordering: greater sender power first, then origin_server_ts, then event id', async (t) => {
  const pl = (id: string, sender: string, ts: number): RoomEvent =>
    variant(id, { type: 'm.room.power_levels', stateKey: '', sender, originServerTs: ts, authEvents: ['$pl1'] });
  const alice = '@alice:hearth.test';
  const events = [pl('$b', alice, 5), pl('$a', alice, 5), pl('$bob', '@bob:hearth.test', 1), pl('$early', alice, 2)];
  const all = new Map([...known, ...events.map((e) => [e.eventId, e] as const)]);
  const ctx = createContext({ rules: run.rules, stateSets: [], events: (id) => all.get(id) });
  const sorted = reverseTopologicalPowerOrder(ctx, events, new Set(events.map((e) => e.eventId)));
  t.same(sorted.map((e) => e.eventId), ['$early', '$a', '$b', '$bob']);
});

t.test('power ordering follows auth_events before power', async (t) => {
  const pl = { type: 'm.room.power_levels', stateKey: '' };
  const parent = variant('$parent', { ...pl, sender: '@bob:hearth.test', authEvents: ['$pl1'] });
  const child = variant('$child', { ...pl, originServerTs: 0, authEvents: ['$parent'] });
  const all = new Map([...known, [parent.eventId, parent], [child.eventId, child]]);
  const ctx = createContext({ rules: run.rules, stateSets: [], events: (id) => all.get(id) });
  const sorted = reverseTopologicalPowerOrder(ctx, [child, parent], new Set(['$child', '$parent']));
  t.same(sorted.map((e) => e.eventId), ['$parent', '$child'], 'the lower-power parent still comes first');
});

t.test('mainline ordering: earlier mainline position first, then origin_server_ts, then event id', async (t) => {
  const topic = (id: string, pl: string, ts: number): RoomEvent =>
    variant(id, { authEvents: ['$create', pl], originServerTs: ts });
  const latest = '$pl-demote-bob';
  const events = [
    topic('$new-y', latest, 1),
    topic('$new-x', latest, 1),
    topic('$old', '$pl1', 9),
    topic('$none', '$create', 50),
  ];
  const all = new Map([...known, ...events.map((e) => [e.eventId, e] as const)]);
  const ctx = createContext({ rules: run.rules, stateSets: [], events: (id) => all.get(id) });
  const sorted = mainlineOrder(ctx, events, all.get('$pl-demote-bob'));
  t.same(sorted.map((e) => e.eventId), ['$none', '$old', '$new-x', '$new-y']);
});

t.test('power events: power levels, join rules, kicks and bans, not self-leaves', async (t) => {
  t.ok(isPowerEvent(known.get('$pl1') as RoomEvent));
  t.ok(isPowerEvent(known.get('$jr-public') as RoomEvent));
  t.ok(isPowerEvent(known.get('$bob-kicks-charlie') as RoomEvent));
  const bob = '@bob:hearth.test';
  const leave = { type: 'm.room.member', content: { membership: 'leave' } };
  const selfLeave = variant('$leave', { ...leave, stateKey: bob, sender: bob });
  t.notOk(isPowerEvent(selfLeave));
  t.notOk(isPowerEvent(base));
});
