import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../src/platform/logger.js';
import { openDatabase, StorageError } from '../../src/storage/index.js';
import { beginLocked, commitNow } from '../../src/storage/client.js';
import { eachEngine, testDatabase } from '../helpers/database.js';

const log = silentLogger();

void eachEngine(t, 'the same SQL runs through the same client on every engine', async (t, db) => {
  t.ok(db.engine === 'embedded' || db.engine === 'postgres');
  await db.sql`
    create table stream (
      position bigint generated always as identity primary key,
      room_id text not null,
      content jsonb not null,
      ts bigint not null
    )`;
  await db.sql`insert into stream ${db.sql([
    { room_id: '!a:example.org', content: db.sql.json({ body: 'hi', n: 1 }), ts: 1_700_000_000_123 },
    { room_id: '!b:example.org', content: db.sql.json({ body: 'yo', n: 2 }), ts: 1_700_000_000_456 },
  ])}`;
  const rows = await db.sql<{ position: number; room_id: string; content: unknown; ts: number }[]>`
    select position, room_id, content, ts from stream where position > ${0} order by position`;
  t.same(rows.map((r) => ({ ...r })), [
    { position: 1, room_id: '!a:example.org', content: { body: 'hi', n: 1 }, ts: 1_700_000_000_123 },
    { position: 2, room_id: '!b:example.org', content: { body: 'yo', n: 2 }, ts: 1_700_000_000_456 },
  ], 'bigint columns come back as numbers, jsonb as objects');
  t.same(await db.sql`select max(position) as top, count(*) as n from stream`, [{ top: 2, n: 2 }]);
  t.same(await db.sql`select ${Number.MAX_SAFE_INTEGER}::int8 as big, ${[1, 2, 3]}::int8[] as list`, [
    { big: Number.MAX_SAFE_INTEGER, list: [1, 2, 3] },
  ], 'the largest safe integer round-trips and int8 arrays parse to numbers');
  await t.rejects(db.sql`select 9007199254740993::int8 as too_big`, {
    name: 'StorageError',
    message: /int8 value 9007199254740993 does not fit a JS number/,
  });
  t.same(await db.sql`select 1 as ok`, [{ ok: 1 }], 'the client recovers after the refused value');
});

void eachEngine(t, 'transactions commit together or not at all', async (t, db) => {
  await db.sql`create table pairs (k text primary key)`;
  await db.sql.begin(async (tx) => {
    await tx`insert into pairs values ('a')`;
    await tx`insert into pairs values ('b')`;
  });
  await t.rejects(
    db.sql.begin(async (tx) => {
      await tx`insert into pairs values ('c')`;
      await tx`insert into pairs values ('a')`; // duplicate key
    }),
    { code: '23505' },
  );
  t.same(await db.sql`select k from pairs order by k`, [{ k: 'a' }, { k: 'b' }], 'the failed transaction left no trace');
  t.same(await db.sql`select 1 as ok`, [{ ok: 1 }], 'the connection is usable after a rollback');
});

void eachEngine(t, 'a transaction begun with its lock holds it to the end, and writes all or nothing', async (t, db) => {
  await db.sql`create table locked_log (n int)`;
  t.throws(() => beginLocked(db.sql, '1; drop table locked_log', async () => undefined), /bigint/, 'a key must be a number');
  let release!: () => void;
  const held = new Promise<void>((done) => (release = done));
  const order: string[] = [];
  const first = beginLocked(db.sql, '42', async (tx) => {
    await tx`insert into locked_log values (1)`;
    order.push('first in');
    await held;
    order.push('first out');
  });
  await new Promise((done) => setTimeout(done, 50));
  const second = beginLocked(db.sql, '42', async (tx) => {
    order.push('second in');
    await tx`insert into locked_log values (2)`;
  });
  await new Promise((done) => setTimeout(done, 200));
  release();
  await Promise.all([first, second]);
  t.same(order, ['first in', 'first out', 'second in'], 'the second waited for the first to end');
  await t.rejects(beginLocked(db.sql, '42', async (tx) => {
    await tx`insert into locked_log values (3)`;
    throw new Error('no');
  }), { message: 'no' });
  t.same((await db.sql<{ n: number }[]>`select n from locked_log order by n`).map((row) => row.n), [1, 2], 'the failed one left nothing');
});

void eachEngine(t, 'a locked write transaction runs on generic plans, and only it', async (t, db) => {
  const mode = (q: typeof db.sql) => q<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
  await db.sql`create table keyed (k text primary key, v int)`;
  await beginLocked(db.sql, '7', async (tx) => {
    t.same((await mode(tx as unknown as typeof db.sql)).map((row) => row.mode), ['force_generic_plan'], 'inside, generic plans');
    await tx`insert into keyed values ('a', 1)`;
  });
  t.same(await db.sql`select k, v from keyed`, [{ k: 'a', v: 1 }], 'the transaction committed');
  // Every connection of the pool: none kept the setting.
  const after = await Promise.all([...Array(8).keys()].map(() => mode(db.sql)));
  t.same([...new Set(after.flat().map((row) => row.mode))], ['auto'], 'outside, PostgreSQL chooses plans as it always does');
});

// Only on PostgreSQL: the embedded engine runs in this process, so it cannot answer while the test keeps it busy.
t.test('a COMMIT sent with commitNow goes out at once, so a busy process does not hold its locks', { skip: process.env.DATABASE_URL ? false : 'needs DATABASE_URL' }, async (t) => {
  const db = await testDatabase(t, { engine: 'postgres' });
  await db.sql`create table busy_log (note text)`;
  // The driver sends a statement it has not prepared yet in two steps; the transaction's is prepared here.
  await db.sql`insert into busy_log values (${'first'})`;
  let waiter: Promise<number> | undefined;
  let busyUntil = 0;
  await db.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(4242)`;
    // Another connection waits for the lock; its answer says when it got it, by the database's clock.
    waiter = db.sql.begin(async (other) => {
      const [row] = await other<{ at: number }[]>`
        select (extract(epoch from clock_timestamp()) * 1000)::float8 as at from (select pg_advisory_xact_lock(4242)) as locked`;
      return row!.at;
    });
    for (let i = 0; i < 100; i++) {
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_locks
        where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`;
      if (row!.n > 0) break;
      await new Promise((done) => setTimeout(done, 20));
    }
    // The process is busy right after the last statements and the COMMIT are issued (this runs before any
    // setImmediate the driver schedules now): the COMMIT must be on its way already.
    setImmediate(() => {
      const from = Date.now();
      while (Date.now() - from < 500);
      busyUntil = Date.now();
    });
    // A statement over the driver's 1 KiB goes out alone; a bare COMMIT after it would wait.
    return [tx`insert into busy_log values (${'x'.repeat(2000)})`, commitNow(tx)];
  });
  const gotAt = await waiter!;
  t.ok(gotAt < busyUntil, `the waiting connection got the lock while this process was busy (${(busyUntil - gotAt).toFixed(0)} ms before it was done)`);
  t.same(await db.sql`select length(note) as n from busy_log order by n`, [{ n: 5 }, { n: 2000 }], 'the transaction committed');
});

void eachEngine(t, 'queries from many callers at once all complete', async (t, db) => {
  await db.sql`create table counter (id int primary key, n int not null)`;
  await db.sql`insert into counter values (1, 0)`;
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      i % 5 === 0
        ? db.sql.begin(async (tx) => {
            await tx`update counter set n = n + 1 where id = 1`;
          })
        : db.sql`update counter set n = n + 1 where id = 1`,
    ),
  );
  t.same(await db.sql`select n from counter`, [{ n: 50 }]);
});

t.test('an unreachable PostgreSQL fails with the host named and the password hidden', async (t) => {
  const err = await openDatabase({ url: 'postgres://hearth:hunter2@127.0.0.1:1/hearth', dataDir: '', log }).catch(
    (e: unknown) => e,
  );
  t.type(err, StorageError);
  t.equal(
    (err as Error).message,
    'cannot connect to PostgreSQL at hearth@127.0.0.1:1/hearth: connection refused (is the server running and listening there?)',
  );
  t.notMatch(String((err as Error).message), /hunter2/);
});

t.test('a malformed URL is refused without echoing it', async (t) => {
  const err = await openDatabase({ url: 'postgres://hearth:hunter2@127.0.0.1:port/x', dataDir: '', log }).catch(
    (e: unknown) => e,
  );
  t.type(err, StorageError);
  t.equal((err as Error).message, 'the database URL is not a valid postgres:// URL');
  t.equal((err as Error).cause, undefined, 'no cause carrying the URL');
});

t.test('a URL can name the server\'s Unix socket directory, as libpq\'s ?host= does', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, async (t) => {
  const tcp = await openDatabase({ url: process.env.DATABASE_URL ?? '', dataDir: '', log });
  const [row] = await tcp.sql<{ dir: string; port: number }[]>`
    select split_part(current_setting('unix_socket_directories'), ',', 1) as dir, current_setting('port')::int as port`;
  await tcp.close();
  const dir = row!.dir.trim();
  // A server may be configured with a socket directory whose socket file is gone (a machine restored from
  // a snapshot keeps the directory, not the socket): nothing then listens there.
  const socketGone = dir.startsWith('/') && !existsSync(join(dir, `.s.PGSQL.${row!.port}`));
  await t.test('connects through the socket', { skip: (!dir.startsWith('/') && 'the server listens on no Unix socket') || (socketGone && 'the server\'s socket file is absent') }, async (t) => {
    const url = new URL(process.env.DATABASE_URL ?? '');
    url.search = `?host=${encodeURIComponent(dir)}`;
    const db = await openDatabase({ url: url.toString(), dataDir: '', log });
    t.teardown(() => db.close());
    // A connection over a Unix socket has no server address.
    t.same(await db.sql`select inet_server_addr() is null as local`, [{ local: true }], 'no server address');
  });
});

t.test('?host= and ?port= naming a host override the URL\'s, as in libpq', async (t) => {
  const err = await openDatabase({ url: 'postgres://hearth:hunter2@nowhere.invalid:5/hearth?host=127.0.0.1&port=1', dataDir: '', log }).catch((e: unknown) => e);
  t.type(err, StorageError);
  t.equal(
    (err as Error).message,
    'cannot connect to PostgreSQL at hearth@127.0.0.1:1/hearth: connection refused (is the server running and listening there?)',
  );
  const notPort = await openDatabase({ url: 'postgres://hearth:hunter2@localhost/hearth?port=fivefourthreetwo', dataDir: '', log }).catch((e: unknown) => e);
  t.equal((notPort as Error).message, 'the database URL is not a valid postgres:// URL');
  t.notMatch(String((notPort as Error).message), /hunter2/);
  await t.test('connects to the host and port they name', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, async (t) => {
    const real = new URL(process.env.DATABASE_URL ?? '');
    const url = new URL(real.toString());
    url.hostname = 'nowhere.invalid';
    url.port = '5';
    url.search = `?host=${encodeURIComponent(real.hostname)}&port=${real.port || '5432'}`;
    const db = await openDatabase({ url: url.toString(), dataDir: '', log });
    t.teardown(() => db.close());
    t.same(await db.sql`select 1 as one`, [{ one: 1 }]);
  });
});

t.test('a socket directory with no server in it fails saying so', async (t) => {
  const err = await openDatabase({ url: 'postgres://hearth:hunter2@localhost/hearth?host=/nonexistent', dataDir: '', log }).catch((e: unknown) => e);
  t.type(err, StorageError);
  t.equal((err as Error).message, 'cannot connect to PostgreSQL at hearth@/nonexistent/.s.PGSQL.5432/hearth: no socket at that path');
  t.notMatch(String((err as Error).message), /hunter2/);
});

t.test('a missing database on a running server says so', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, async (t) => {
  const url = new URL(process.env.DATABASE_URL ?? '');
  url.pathname = '/hearth_no_such_database';
  await t.rejects(openDatabase({ url: url.toString(), dataDir: '', log }), {
    name: 'StorageError',
    message: /^cannot connect to PostgreSQL at .*\/hearth_no_such_database: the database does not exist \(create it first\)$/,
  });
});
