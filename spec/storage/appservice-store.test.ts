import t from 'tap';
import { createAppServiceStore } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';
import { roomWithMessages } from '../helpers/room-events.js';

t.test('application service store', async (t) => {
  await eachEngine(t, 'a service starts at the end of the stream and its position only moves forward', async (t, db) => {
    const store = createAppServiceStore(db.sql);
    const positions = await roomWithMessages(db, 2);
    t.equal(await store.position('irc'), positions[2], 'no old history for a service added later');
    t.equal(await store.position('irc'), positions[2], 'asked again: the same');
    await store.setPosition('irc', positions[2]! + 5);
    await store.setPosition('irc', positions[1]!);
    t.equal(await store.position('irc'), positions[2]! + 5, 'never moves back');
    t.same((await store.eventsAfter(positions[0]!, 10)).map((e) => e.event.eventId), ['$m1', '$m2']);
  });

  await eachEngine(t, 'a transaction is kept until the service accepts it, with ids counting up', async (t, db) => {
    const store = createAppServiceStore(db.sql);
    const start = await store.position('irc');
    t.equal(await store.pendingTransaction('irc'), undefined);
    const first = await store.createTransaction('irc', start + 3, '{"events":[1]}');
    t.same(first, { txnId: 1, body: '{"events":[1]}' });
    t.equal(await store.position('irc'), start + 3, 'the position moved with the transaction');
    t.same(await store.pendingTransaction('irc'), first, 'read back as stored, until accepted');
    await store.completeTransaction('irc', 1);
    t.equal(await store.pendingTransaction('irc'), undefined);
    t.equal((await store.createTransaction('irc', start + 4, '{"events":[2]}')).txnId, 2);
    t.equal(await store.pendingTransaction('other'), undefined, 'each service has its own');
  });
});
