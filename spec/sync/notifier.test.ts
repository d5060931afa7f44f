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

t.test('a listener resumes where an earlier read began: notices since then wake it, older ones do not', async (t) => {
  const notifier = new SyncNotifier();
  notifier.notify({ rooms: ['!room:x'], users: ['@alice:x'] }); // before the earlier read: it saw these
  const earlier = notifier.listen('@alice:x');
  earlier.reset();
  const sequence = earlier.readSequence;
  earlier.close();

  const quiet = notifier.listen('@alice:x');
  quiet.resume(sequence, ['!room:x']);
  t.equal(await quiet.wait(10), false, 'nothing since the read: the wait runs out');
  quiet.close();

  notifier.notify({ rooms: ['!room:x'] }); // after the read, before the client came back
  const roomNews = notifier.listen('@alice:x');
  roomNews.resume(sequence, ['!room:x']);
  t.equal(await roomNews.wait(10_000), true, 'a notice for one of its rooms since the read wakes it at once');
  roomNews.close();

  notifier.notify({ users: ['@alice:x'] });
  const userNews = notifier.listen('@alice:x');
  userNews.resume(sequence, []);
  t.equal(await userNews.wait(10_000), true, 'so does a notice naming the user (an invite to a new room)');
  userNews.close();

  const other = notifier.listen('@bob:x');
  other.resume(sequence, ['!elsewhere:x']);
  t.equal(await other.wait(10), false, "other users' and rooms' notices do not");
  other.close();
});
