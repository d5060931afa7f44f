import t from 'tap';
import type { Test } from 'tap';
import { silentLogger } from '../../src/platform/logger.js';
import type { Database } from '../../src/storage/index.js';
import {
  ACCOUNT_DATA_STREAM_LOCK_ID,
  ADVISORY_LOCK_NAMESPACE,
  createPeekStore,
  createPresenceStore,
  createReceiptsStore,
  createToDeviceStore,
  createUserDataStore,
  openDatabase,
  PEEKS_STREAM_LOCK_ID,
  PRESENCE_STREAM_LOCK_ID,
  RECEIPTS_STREAM_LOCK_ID,
  TO_DEVICE_STREAM_LOCK_ID,
} from '../../src/storage/index.js';
import { commitNow } from '../../src/storage/client.js';
import { parseUserId } from '../../src/protocol/index.js';
import { eachEngine, testDatabase } from '../helpers/database.js';

/**
 * Writes to the presence, account-data, receipts, peeks and to-device streams draw their position under the stream's
 * lock, held to COMMIT. Each is one statement with its COMMIT right behind it, so the lock is held while
 * the server works, never while this process is busy with something else.
 */

const ALICE = parseUserId('@alice:hearth.test');
let receiptAt = 1;
let txnAt = 1;

const WRITES: Array<{ name: string; lockId: number; write: (db: Database) => Promise<number> }> = [
  { name: 'presence', lockId: PRESENCE_STREAM_LOCK_ID, write: (db) => createPresenceStore(db.sql).putPresence(ALICE, 'online', null, 1) },
  { name: 'account data', lockId: ACCOUNT_DATA_STREAM_LOCK_ID, write: (db) => createUserDataStore(db.sql).putAccountData(ALICE, null, 'm.test', { n: 1 }) },
  { name: 'peeks', lockId: PEEKS_STREAM_LOCK_ID, write: (db) => createPeekStore(db.sql).peek(ALICE, 'DEVICE', '!room:hearth.test') },
  {
    name: 'to-device',
    lockId: TO_DEVICE_STREAM_LOCK_ID,
    // A new transaction id each time: a repeated one queues nothing.
    write: async (db) => {
      const txn = { sender: ALICE, senderDeviceId: 'DEVICE', txnId: `t${txnAt++}`, ts: 1 };
      const queued = await createToDeviceStore(db.sql).queueToDevice(txn, 'm.test', [{ userId: ALICE, deviceId: '*', content: { n: txnAt } }]);
      return queued?.position ?? 0;
    },
  },
  {
    name: 'receipts',
    lockId: RECEIPTS_STREAM_LOCK_ID,
    // A receipt further on each time: one that does not move forward writes nothing.
    write: (db) => createReceiptsStore(db.sql).putReceipt({
      roomId: '!room:hearth.test', receiptType: 'm.read', userId: ALICE, threadId: null, eventId: '$event', eventPosition: receiptAt++, ts: 1,
    }).then((position) => position ?? 0),
  },
];

/** Connections in testDatabase's PostgreSQL pool. */
const POOL = 4;

/** Account data belongs to an account, and to-device messages go to its devices. */
async function withAlice(db: Database): Promise<void> {
  await db.sql`insert into users (user_id, created_ts) values (${ALICE}, 1)`;
  await db.sql`insert into devices (user_id, device_id, created_ts) values (${ALICE}, 'DEVICE', 1)`;
}

/** A client of its own on the same database. */
async function otherClient(t: Test, db: Database): Promise<Database> {
  const [row] = await db.sql<{ name: string }[]>`select current_database() as name`;
  const url = new URL(process.env.DATABASE_URL ?? '');
  url.pathname = `/${row!.name}`;
  const other = await openDatabase({ url: url.toString(), dataDir: '', poolSize: 3, log: silentLogger() });
  t.teardown(() => other.close());
  return other;
}

/**
 * Runs `during` while a transaction of `db` holds the stream's lock; the lock goes (its COMMIT sent at once)
 * when `during` has resolved. Returns what `during` resolved to.
 */
async function holdingLock<T>(db: Database, lockId: number, during: () => Promise<T>): Promise<T> {
  let outcome: T | undefined;
  await db.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${lockId})`;
    outcome = await during();
    return [commitNow(tx)];
  });
  return outcome as T;
}

/** Waits until `count` sessions wait for an advisory lock. */
async function waiters(db: Database, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from pg_locks
      where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`;
    if (row!.n >= count) return;
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error(`fewer than ${count} sessions came to wait for a lock`);
}

for (const { name, lockId, write } of WRITES) {
  t.test(`a ${name} write does not hold its stream's lock while this process is busy`, { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL (the embedded engine serves one connection at a time)' }, async (t) => {
    const db = await testDatabase(t, { engine: 'postgres' });
    await withAlice(db);
    // The other sessions are another client's, so that the writes alone use the pool's connections.
    const others = await otherClient(t, db);
    // The driver prepares a statement on a connection the first time it runs there, a round trip of its
    // own: the write runs once on each of the pool's connections first (all at once, queued behind a held
    // lock, so that each takes a connection of its own), as they are in a running server.
    await holdingLock(others, lockId, async () => {
      const warm = Array.from({ length: POOL }, () => write(db));
      await waiters(others, POOL);
      return { warm };
    }).then(({ warm }) => Promise.all(warm));

    // Another writer holds the lock; the write under test queues behind it, and a third session behind that.
    let position = 0;
    let third: Promise<number> | undefined;
    let busyUntil = 0;
    await holdingLock(others, lockId, async () => {
      const written = write(db).then((drawn) => (position = drawn));
      await waiters(others, 1);
      third = others.sql.begin(async (tx) => {
        const [row] = await tx<{ at: number }[]>`
          select (extract(epoch from clock_timestamp()) * 1000)::float8 as at
          from (select pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${lockId})) as locked`;
        return row!.at;
      });
      await waiters(others, 2);
      // Once the holder's COMMIT is out, this process is busy for half a second: the write under test must
      // finish on the server alone for the third session to get the lock meanwhile.
      setImmediate(() => {
        const from = Date.now();
        while (Date.now() - from < 500);
        busyUntil = Date.now();
      });
      // Wrapped: a promise returned as such would be waited for, and it waits for this lock.
      return { written };
    }).then(({ written }) => written);
    const gotAt = await third!;
    t.ok(position > 0, 'the write drew a position');
    t.ok(gotAt < busyUntil, `the third session got the lock while this process was busy (${(busyUntil - gotAt).toFixed(0)} ms before it was done)`);
  });
}

void eachEngine(t, 'stream writes draw rising positions and overwrite their row', async (t, db) => {
  await withAlice(db);
  for (const { name, write } of WRITES) {
    const one = await write(db);
    const two = await write(db);
    t.ok(two > one, `${name}: a later write takes a later position`);
  }
  t.same(await db.sql`select state, stream_position > 0 as positioned from presence where user_id = ${ALICE}`, [{ state: 'online', positioned: true }]);
  t.same(await db.sql`select content from account_data where user_id = ${ALICE} and type = 'm.test'`, [{ content: '{"n":1}' }]);
  t.same(await db.sql`select peeking from room_peeks where user_id = ${ALICE}`, [{ peeking: true }]);
  t.same(await db.sql`select count(*)::int as n from receipts where user_id = ${ALICE}`, [{ n: 1 }]);
  const queued = await db.sql<{ position: number }[]>`select stream_position as position from to_device_messages where user_id = ${ALICE} order by 1`;
  t.equal(queued.length, 2, 'to-device: each write queued its message for the device');
  t.same(await db.sql`select position from to_device_stream`, [{ position: queued[1]!.position }], 'to-device: the stream moved to the last one');
});
