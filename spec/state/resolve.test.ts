import t from 'tap';
import { stateKey } from '../../src/events/index.js';
import { resolveState } from '../../src/state/index.js';
import { loadFixtures, readable } from './fixtures/load.js';

for (const fixture of loadFixtures()) {
  t.test(fixture.name, async (t) => {
    t.comment(fixture.description);
    for (const run of fixture.runs) {
      const resolved = resolveState({
        rules: run.rules,
        stateSets: run.stateSets,
        events: (id) => run.events.get(id),
        rejected: (id) => run.rejected.has(id),
      });
      t.same(readable(resolved), readable(run.expected), `room version ${run.label}`);
    }
  });
}

t.test('no state sets resolve to the empty state', async (t) => {
  const { runs } = loadFixtures()[0] ?? { runs: [] };
  const run = runs[0];
  if (run === undefined) throw new Error('no fixture run');
  t.equal(resolveState({ rules: run.rules, stateSets: [], events: (id) => run.events.get(id) }).size, 0);
});

t.test('a conflicted event the caller could not fetch is left out, as if no set held it', async (t) => {
  const fixture = loadFixtures().find((f) => f.name === 'ban-vs-join');
  const run = fixture?.runs.find((r) => r.rules.stateResolution === 'v2');
  if (run === undefined) throw new Error('ban-vs-join has no v2 run');
  const resolved = resolveState({
    rules: run.rules,
    stateSets: run.stateSets,
    events: (id) => (id === '$ban-eve' ? undefined : run.events.get(id)),
  });
  t.equal(resolved.get(stateKey('m.room.member', '@eve:other.test')), '$eve-join', 'without the ban, the join stands');
});
