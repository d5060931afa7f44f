import t from 'tap';
import { createMemoryBus } from '../../src/platform/bus.js';
import { silentLogger } from '../../src/platform/logger.js';
import { EVENTS_CHANNEL, roomNotifierOnBus } from '../../src/platform/stream-notices.js';

t.test('persisted events are announced on the bus with their position', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const heard: unknown[] = [];
  bus.subscribe(EVENTS_CHANNEL, (message) => heard.push(message));
  const notifier = roomNotifierOnBus(bus, silentLogger());
  notifier.eventsPersisted('!room:hearth.test', 41);
  notifier.eventsPersisted('!room:hearth.test', 42);
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.same(heard, [
    { roomId: '!room:hearth.test', position: '41' },
    { roomId: '!room:hearth.test', position: '42' },
  ]);
});

t.test('a closed bus does not make a committed write fail', async (t) => {
  const bus = createMemoryBus();
  await bus.close();
  t.doesNotThrow(() => roomNotifierOnBus(bus, silentLogger()).eventsPersisted('!room:hearth.test', 1));
});
