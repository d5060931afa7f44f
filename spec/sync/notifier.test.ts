import t from 'tap';
import { SyncNotifier } from '../../src/sync/index.js';

t.test('a notice wakes the listeners of its rooms and users only', async (t) => {
  const notifier = new SyncNotifier();
  const alice = notifier.listen('@alice:x');
  alice.addRooms(['!a:x']);
  const bob = notifier.listen('@bob:x');
  bob.addRooms(['!b:x']);
  const aliceWait = alice.wait(10_000);
  const bobWait = bob.wait(20);
  notifier.notify({ rooms: ['!a:x'] });
  t.equal(await aliceWait, true, 'alice is woken by her room');
  t.equal(await bobWait, false, 'bob times out');
  const bobAgain = bob.wait(10_000);
  notifier.notify({ users: ['@bob:x'] });
  t.equal(await bobAgain, true, 'bob is woken by a notice naming him');
  alice.close();
  bob.close();
  t.equal(notifier.listeners, 0, 'closed listeners are gone');
});

t.test('a notice during the read is not lost, even for rooms the read is still finding', async (t) => {
  const notifier = new SyncNotifier();
  const listener = notifier.listen('@alice:x');
  listener.reset();
  notifier.notify({ rooms: ['!room:x'] }); // arrives while the sync reads, before it knows its rooms
  listener.addRooms(['!room:x']);
  t.equal(await listener.wait(10_000), true, 'the wait returns at once');
  listener.reset();
  listener.addRooms(['!room:x']);
  t.equal(await listener.wait(10), false, 'after a reset, only newer notices count');
  listener.close();
});

t.test('closing the notifier ends every wait', async (t) => {
  const notifier = new SyncNotifier();
  const listener = notifier.listen('@alice:x');
  const waiting = listener.wait(60_000);
  notifier.close();
  t.equal(await waiting, false);
  t.equal(await notifier.listen('@bob:x').wait(60_000), false, 'and later ones');
});
