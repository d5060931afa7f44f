import t from 'tap';
import { stateKey, type RoomEvent, type StateKey, type StateMap } from '../../src/events/index.js';
import { authChain, authDifference, conflictedSubgraph, missingEvents } from '../../src/state/index.js';

/** A bare state event: only the id, its key and its auth events matter to auth chains. */
function event(id: string, authEvents: string[] = [], key = id): RoomEvent {
  return {
    eventId: id,
    roomId: '!room',
    type: 'org.example.state',
    stateKey: key,
    sender: '@a:hearth.test',
    origin: undefined,
    content: {},
    originServerTs: 0,
    depth: 0,
    prevEvents: [],
    authEvents,
    redacts: undefined,
    pdu: {},
  };
}

function lookupOf(events: RoomEvent[]): (id: string) => RoomEvent | undefined {
  const byId = new Map(events.map((e) => [e.eventId, e]));
  return (id) => byId.get(id);
}

function stateOf(entries: Record<string, string>): StateMap {
  return new Map(
    Object.entries(entries).map(([key, id]) => [stateKey('org.example.state', key), id] as [StateKey, string]),
  );
}

// create <- pl <- a <- b, and create <- pl <- c.
const graph = [
  event('create'),
  event('pl', ['create']),
  event('a', ['create', 'pl']),
  event('b', ['create', 'pl', 'a']),
  event('c', ['create', 'pl']),
];

t.test('an auth chain holds what the events reach through auth_events, not the events themselves', async (t) => {
  const lookup = lookupOf(graph);
  t.same([...authChain(['b'], lookup)].sort(), ['a', 'create', 'pl']);
  t.same([...authChain(['b', 'a'], lookup)].sort(), ['a', 'create', 'pl'], 'a is in because b reaches it');
  t.same([...authChain(['create'], lookup)], []);
  t.same([...authChain(['unknown'], lookup)], [], 'unknown events have no chain');
});

t.test('a chain 200,000 events deep is walked without exhausting the stack', async (t) => {
  const deep: RoomEvent[] = [event('e0')];
  for (let i = 1; i < 200_000; i++) deep.push(event(`e${i}`, [`e${i - 1}`]));
  t.equal(authChain(['e199999'], lookupOf(deep)).size, 199_999);
});

t.test('the auth difference: what some sets reach and others do not', async (t) => {
  const lookup = lookupOf(graph);
  t.same([...authDifference([stateOf({ x: 'b' }), stateOf({ x: 'c' })], lookup)].sort(), ['a', 'b', 'c']);
  t.same([...authDifference([stateOf({ x: 'b' }), stateOf({ x: 'b' })], lookup)], [], 'identical sets');
  t.same([...authDifference([stateOf({ x: 'b' })], lookup)], [], 'one set');
  // `a` is held by both sets; only the first set's other event cites it. Counting each set's own events in
  // its chain (as Synapse does) keeps `a` out of the difference.
  t.same([...authDifference([stateOf({ x: 'b', y: 'a' }), stateOf({ x: 'c', y: 'a' })], lookup)].sort(), ['b', 'c']);
});

t.test('missingEvents lists what resolution still needs, round by round', async (t) => {
  const have = new Map<string, RoomEvent>();
  const lookup = (id: string): RoomEvent | undefined => have.get(id);
  const sets = [stateOf({ x: 'b' }), stateOf({ x: 'c' })];
  const all = new Map(graph.map((e) => [e.eventId, e]));
  const rounds: string[][] = [];
  for (let missing = missingEvents(sets, lookup); missing.length > 0; missing = missingEvents(sets, lookup)) {
    rounds.push(missing);
    for (const id of missing) have.set(id, all.get(id) as RoomEvent);
    if (rounds.length > 10) break;
  }
  t.same(rounds, [['b', 'c'], ['a', 'create', 'pl']]);
});

t.test('the conflicted state subgraph holds the events between conflicted events', async (t) => {
  // pl0 <- pl1 <- pl2, each citing create; pl2 and pl0 are in conflict: pl1 lies between them.
  const lookup = lookupOf([
    event('create'),
    event('pl0', ['create']),
    event('pl1', ['create', 'pl0']),
    event('pl2', ['create', 'pl1']),
    event('topic', ['create', 'pl2']),
  ]);
  t.same([...conflictedSubgraph(new Set(['pl2', 'pl0']), lookup)].sort(), ['pl0', 'pl1', 'pl2']);
  t.same([...conflictedSubgraph(new Set(['topic', 'pl1']), lookup)].sort(), ['pl1', 'pl2', 'topic']);
  t.same([...conflictedSubgraph(new Set(['pl1']), lookup)], [], 'no second conflicted event, no path');
});

t.test('an auth_events cycle (server-generated ids) does not hang the subgraph walk', async (t) => {
  const lookup = lookupOf([event('x', ['y']), event('y', ['x']), event('z', ['x'])]);
  t.ok(conflictedSubgraph(new Set(['z', 'y']), lookup).has('x'));
});
