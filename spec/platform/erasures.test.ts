import t from 'tap';
import { createMemoryBus } from '../../src/platform/bus.js';
import { erasuresOnBus } from '../../src/platform/erasures.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createErasedUsers } from '../../src/rooms/erasure.js';

t.test('an erasure in one process reaches the others over the bus', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const here = createErasedUsers();
  const there = createErasedUsers(['@earlier:hearth.test']);
  const ours = erasuresOnBus(bus, silentLogger(), (userId) => here.add(userId));
  erasuresOnBus(bus, silentLogger(), (userId) => there.add(userId));
  t.ok(there.any && there.isErased('@earlier:hearth.test'), 'what was read at start-up');
  t.notOk(here.any, 'nothing erased yet here');

  here.add('@alice:hearth.test');
  await ours.announce('@alice:hearth.test');
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(there.isErased('@alice:hearth.test'), 'the other process heard of it');
  t.notOk(there.isErased('@bob:hearth.test'));
});

t.test('a bus that fails to carry the announcement does not make the erasure fail', async (t) => {
  const bus = createMemoryBus();
  const erasures = erasuresOnBus(bus, silentLogger(), () => undefined);
  await bus.close();
  await t.resolves(erasures.announce('@alice:hearth.test'));
});
