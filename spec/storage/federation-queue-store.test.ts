import t from 'tap';
import { createFederationQueueStore } from '../../src/storage/federation-queue-store.js';
import { eachEngine } from '../helpers/database.js';
import { roomWithMessages } from '../helpers/room-events.js';

const ROOM = '!room:example.org';

t.test('federation queue store', async (t) => {
  await eachEngine(t, 'the sender position starts at the stream head and only moves forward', async (t, db) => {
    const store = createFederationQueueStore(db.sql);
    t.equal(await store.senderPosition(), 0, 'a fresh database starts at 0');
    const positions = await roomWithMessages(db, 3);
    t.same((await store.eventsAfter(0, 10)).map((e) => e.event.eventId), ['$create', '$m1', '$m2', '$m3'], 'events in stream order');
    t.same((await store.eventsAfter(positions[1]!, 1)).map((e) => e.event.eventId), ['$m2'], 'above a position, limited');
    await store.queuePdus([], positions[3]!);
    t.equal(await store.senderPosition(), positions[3]);
    await store.queuePdus([], positions[1]!);
    t.equal(await store.senderPosition(), positions[3], 'never moves back');
  });

  await eachEngine(t, 'queued PDUs are read back per destination as their stored federation JSON, oldest first', async (t, db) => {
    const store = createFederationQueueStore(db.sql);
    const positions = await roomWithMessages(db, 3);
    await store.queuePdus(
      [
        { destination: 'b.test', position: positions[3]!, eventId: '$m3' },
        { destination: 'b.test', position: positions[1]!, eventId: '$m1' },
        { destination: 'c.test', position: positions[2]!, eventId: '$m2' },
      ],
      positions[3]!,
    );
    await store.queuePdus([{ destination: 'b.test', position: positions[1]!, eventId: '$m1' }], positions[3]!);
    t.same(await store.destinationsWithWork(), ['b.test', 'c.test']);
    const batch = await store.nextBatch('b.test', 50, 100);
    t.same(batch.pdus.map((p) => p.eventId), ['$m1', '$m3'], 'a PDU queued twice is queued once');
    t.match(batch.pdus[0]!.pdu, { room_id: ROOM, prev_events: ['$create'], hashes: { sha256: 'aGFzaA' }, signatures: {} }, 'the PDU as stored');
    t.notOk('event_id' in batch.pdus[0]!.pdu!, 'not the client format');
    t.same((await store.nextBatch('b.test', 1, 100)).pdus.map((p) => p.eventId), ['$m1'], 'at most maxPdus');

    await store.removeSent('b.test', [positions[1]!], [], 1_000);
    t.same((await store.nextBatch('b.test', 50, 100)).pdus.map((p) => p.eventId), ['$m3']);
    t.match(await store.destinationState('b.test'), { lastSuccessTs: 1_000, lastSentPosition: positions[1], retryIntervalMs: 0 });
    t.same((await store.nextBatch('c.test', 50, 100)).pdus.map((p) => p.eventId), ['$m2'], 'other destinations untouched');
  });

  await eachEngine(t, 'a queued PDU whose event is gone comes back without JSON', async (t, db) => {
    const store = createFederationQueueStore(db.sql);
    await store.queuePdus([{ destination: 'b.test', position: 99, eventId: '$gone' }], 0);
    t.same((await store.nextBatch('b.test', 50, 100)).pdus, [{ position: 99, eventId: '$gone', pdu: null }]);
  });

  await eachEngine(t, 'EDUs queue per destination; a dedupe key keeps only the latest', async (t, db) => {
    const store = createFederationQueueStore(db.sql);
    await store.queueEdu(['b.test', 'c.test'], 'm.typing', { room_id: ROOM, user_id: '@a:x', typing: true }, 'typing:!room:@a:x', 1);
    await store.queueEdu(['b.test'], 'm.receipt', { n: 1 }, null, 2);
    await store.queueEdu(['b.test'], 'm.receipt', { n: 2 }, null, 3);
    const inFlight = await store.nextBatch('b.test', 50, 100);
    t.same(inFlight.edus.map((e) => e.eduType), ['m.typing', 'm.receipt', 'm.receipt'], 'in order; EDUs without a key all stay');

    await store.queueEdu(['b.test'], 'm.typing', { room_id: ROOM, user_id: '@a:x', typing: false }, 'typing:!room:@a:x', 4);
    const latest = await store.nextBatch('b.test', 50, 100);
    t.same(latest.edus.map((e) => e.content), [{ n: 1 }, { n: 2 }, { room_id: ROOM, user_id: '@a:x', typing: false }], 'replaced, and moved to the back');
    t.same((await store.nextBatch('b.test', 50, 2)).edus.length, 2, 'at most maxEdus');

    // The transaction that carried the old typing EDU completes: the new one stays.
    await store.removeSent('b.test', [], inFlight.edus.map((e) => e.id), 5);
    t.same((await store.nextBatch('b.test', 50, 100)).edus.map((e) => e.content), [{ room_id: ROOM, user_id: '@a:x', typing: false }]);
    t.same((await store.nextBatch('c.test', 50, 100)).edus.map((e) => e.content), [{ room_id: ROOM, user_id: '@a:x', typing: true }], 'c.test keeps its own');
  });

  await eachEngine(t, 'back-off is recorded, cleared by a success, and survives a new store object', async (t, db) => {
    const store = createFederationQueueStore(db.sql);
    t.same(await store.destinationState('b.test'), { retryIntervalMs: 0, nextAttemptTs: 0, lastSuccessTs: null, lastSentPosition: 0 }, 'unknown: healthy');
    await store.recordFailure('b.test', 5_000, 10_000);
    await store.recordFailure('b.test', 10_000, 30_000);
    const reopened = createFederationQueueStore(db.sql);
    t.match(await reopened.destinationState('b.test'), { retryIntervalMs: 10_000, nextAttemptTs: 30_000 });
    await reopened.clearBackoff('b.test');
    t.match(await reopened.destinationState('b.test'), { retryIntervalMs: 0, nextAttemptTs: 0 });
    await reopened.recordFailure('b.test', 5_000, 10_000);
    await reopened.removeSent('b.test', [], [], 20_000);
    t.match(await reopened.destinationState('b.test'), { retryIntervalMs: 0, nextAttemptTs: 0, lastSuccessTs: 20_000 });
  });

  await eachEngine(t, 'work queued before a restart is still there after it', async (t, db) => {
    const positions = await roomWithMessages(db, 1);
    await createFederationQueueStore(db.sql).queuePdus([{ destination: 'b.test', position: positions[1]!, eventId: '$m1' }], positions[1]!);
    await createFederationQueueStore(db.sql).queueEdu(['d.test'], 'm.presence', { push: [] }, 'presence:@a:x', 1);
    const restarted = createFederationQueueStore(db.sql);
    t.same(await restarted.destinationsWithWork(), ['b.test', 'd.test']);
    t.equal(await restarted.senderPosition(), positions[1]);
  });
});
