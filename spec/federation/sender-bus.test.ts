import t from 'tap';
import { announceQueuedOnBus, FEDERATION_QUEUED_CHANNEL, federationSenderOnBus, type FederationSender } from '../../src/federation/index.js';
import { createMemoryBus } from '../../src/platform/bus.js';
import { silentLogger } from '../../src/platform/logger.js';

t.test('work one process queued reaches the sending process through the bus', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const nudged: Array<[readonly string[], boolean]> = [];
  const sender = {
    eventsAdvanced: () => undefined,
    typingChanged: async () => undefined,
    nudge: async (destinations: readonly string[], reachable: boolean) => void nudged.push([destinations, reachable]),
  } as unknown as FederationSender;
  const stop = federationSenderOnBus(bus, sender, silentLogger());

  const announce = announceQueuedOnBus(bus, silentLogger());
  announce({ destinations: ['a.test', 'b.test'] });
  announce({ destinations: ['c.test'], reachable: true });
  await bus.publish(FEDERATION_QUEUED_CHANNEL, { destinations: 'not a list' });
  await bus.publish(FEDERATION_QUEUED_CHANNEL, { destinations: ['d.test', 42] });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(nudged, [[['a.test', 'b.test'], false], [['c.test'], true], [['d.test'], false]], 'malformed notices and entries are skipped');

  stop();
  announce({ destinations: ['e.test'] });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(nudged.length, 3, 'unsubscribed');
});
