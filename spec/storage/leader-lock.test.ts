import t from 'tap';
import { silentLogger } from '../../src/platform/logger.js';
import { createLeaderLock, FEDERATION_SENDER_LOCK_ID, openDatabase } from '../../src/storage/index.js';
import { testDatabase, testPostgresUrl } from '../helpers/database.js';

t.test('the embedded engine serves one process: it always holds the role', async (t) => {
  const db = await testDatabase(t);
  const lock = createLeaderLock(db, FEDERATION_SENDER_LOCK_ID);
  t.equal(await lock.held(), false);
  t.equal(await lock.tryAcquire(), true);
  t.equal(await lock.held(), true);
  t.same(await db.sql`select 1 as one`, [{ one: 1 }], 'and keeps no connection from the others');
  await lock.release();
  t.equal(await lock.held(), false);
});

t.test('on PostgreSQL one process at a time holds the role, and it passes on when the holder goes', { skip: process.env.DATABASE_URL ? false : 'needs DATABASE_URL' }, async (t) => {
  const url = await testPostgresUrl(t);
  const open = () => openDatabase({ url, dataDir: '', poolSize: 2, log: silentLogger() });
  const first = await open();
  const second = await open();
  let firstOpen = true;
  t.teardown(async () => {
    if (firstOpen) await first.close();
    await second.close();
  });
  const a = createLeaderLock(first, FEDERATION_SENDER_LOCK_ID);
  const b = createLeaderLock(second, FEDERATION_SENDER_LOCK_ID);

  t.equal(await a.tryAcquire(), true, 'the first to ask gets it');
  t.equal(await a.tryAcquire(), true, 'asking again while holding it is fine');
  t.equal(await b.tryAcquire(), false, 'the other process does not');
  t.equal(await a.held(), true);
  t.same(await second.sql`select 1 as one`, [{ one: 1 }], 'the loser keeps no connection reserved');

  await a.release();
  t.equal(await b.tryAcquire(), true, 'released: the other takes it');
  t.equal(await a.tryAcquire(), false);

  // The holder's connection dies (its process crashed, or the database dropped it): the lock goes with it.
  await first.sql`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = ${FEDERATION_SENDER_LOCK_ID}`;
  t.equal(await b.held(), false, 'the holder notices it lost the role');
  t.equal(await b.held(), false, 'and asking again is answered too (the dead connection is not used again)');
  t.equal(await a.tryAcquire(), true, 'and the other process can take it');
  t.equal(await b.tryAcquire(), false, 'the old holder, on a new connection, is told no');
  t.equal(await b.held(), false);
  await a.release();
  await first.close();
  firstOpen = false;
});
