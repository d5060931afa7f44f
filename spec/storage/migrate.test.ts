import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../src/platform/logger.js';
import { defaultMigrationsDir, listMigrations, migrate, schemaStatus, StorageError, type Database } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';

const log = silentLogger();

const threeSteps = {
  '0001_users.sql': 'create table users (id text primary key);\ncreate index users_id on users (id);\n',
  '0002_devices.sql': 'create table devices (user_id text not null references users (id), device_id text not null);\n',
  '0003_device_names.sql': 'alter table devices add column display_name text;\n',
  'README.md': 'not a migration',
};

async function tables(db: Database): Promise<string[]> {
  const rows = await db.sql<{ name: string }[]>`
    select table_name as name from information_schema.tables where table_schema = 'public' order by 1`;
  return rows.map((r) => r.name);
}

void eachEngine(t, 'applies pending migrations in order and records each', async (t, db) => {
  const dir = t.testdir(threeSteps);
  const result = await migrate(db.sql, { log, migrationsDir: dir });
  t.same(result, { from: 0, to: 3, applied: ['0001_users.sql', '0002_devices.sql', '0003_device_names.sql'] });
  t.same(await tables(db), ['devices', 'schema_migrations', 'users']);
  const rows = await db.sql<{ version: number; name: string; applied_ts: number }[]>`
    select version, name, applied_ts from schema_migrations order by version`;
  t.same(rows.map((r) => [r.version, r.name]), [[1, 'users'], [2, 'devices'], [3, 'device_names']]);
  t.type(rows[0]?.applied_ts, 'number', 'applied_ts is a millisecond number');
  t.ok(Math.abs((rows[0]?.applied_ts ?? 0) - Date.now()) < 60_000);

  const again = await migrate(db.sql, { log, migrationsDir: dir });
  t.same(again, { from: 3, to: 3, applied: [] }, 'a second run does nothing');

  const status = await schemaStatus(db.sql, { migrationsDir: dir });
  t.equal(status.current, 3);
  t.equal(status.latest, 3);
  t.same(status.pending, []);
}, { migrated: false });

void eachEngine(t, 'a later run applies only the new files', async (t, db) => {
  const dir = t.testdir({ '0001_users.sql': threeSteps['0001_users.sql'] });
  t.same(await migrate(db.sql, { log, migrationsDir: dir }), { from: 0, to: 1, applied: ['0001_users.sql'] });
  const wider = t.testdir(threeSteps);
  t.same(await migrate(db.sql, { log, migrationsDir: wider }), {
    from: 1,
    to: 3,
    applied: ['0002_devices.sql', '0003_device_names.sql'],
  });
}, { migrated: false });

void eachEngine(t, 'a failing migration rolls back wholly and names its file and line', async (t, db) => {
  const dir = t.testdir({
    '0001_users.sql': threeSteps['0001_users.sql'],
    '0002_broken.sql': 'create table half (id int);\ninsert into half values (1);\nselect * from no_such_table;\n',
  });
  const err = await migrate(db.sql, { log, migrationsDir: dir }).catch((e: unknown) => e);
  t.type(err, StorageError);
  t.match((err as Error).message, /^migration 0002_broken\.sql failed at line 3: .*no_such_table.*none of it was applied/);
  t.same(await tables(db), ['schema_migrations', 'users'], 'the table the broken file created is gone');
  const status = await schemaStatus(db.sql, { migrationsDir: dir });
  t.equal(status.current, 1, 'the database stays at the last good version');
  t.same(status.pending, ['0002_broken.sql']);

  const fixed = t.testdir({
    '0001_users.sql': threeSteps['0001_users.sql'],
    '0002_broken.sql': 'create table half (id int);\ninsert into half values (1);\n',
  });
  t.same((await migrate(db.sql, { log, migrationsDir: fixed })).applied, ['0002_broken.sql'], 'the fixed file applies');
  t.same(await db.sql`select id from half`, [{ id: 1 }]);
}, { migrated: false });

void eachEngine(t, 'a migration that commits by itself is caught', async (t, db) => {
  const dir = t.testdir({ '0001_sneaky.sql': 'create table a (id int);\ncommit;\ncreate table b (id int);\n' });
  await t.rejects(migrate(db.sql, { log, migrationsDir: dir }), {
    name: 'StorageError',
    message: 'migration 0001_sneaky.sql ends the transaction itself; remove its BEGIN/COMMIT',
  });
  t.equal((await schemaStatus(db.sql, { migrationsDir: dir })).current, 0, 'it is not recorded as applied');
}, { migrated: false });

void eachEngine(t, 'a database newer than the code is refused', async (t, db) => {
  const dir = t.testdir(threeSteps);
  await migrate(db.sql, { log, migrationsDir: dir });
  await db.sql`insert into schema_migrations (version, name, applied_ts) values (4, 'from_the_future', 0)`;
  await t.rejects(migrate(db.sql, { log, migrationsDir: dir }), {
    name: 'StorageError',
    message: 'database schema is at version 4 but this Hearth knows only up to 3; run a newer Hearth',
  });
  const status = await schemaStatus(db.sql, { migrationsDir: dir });
  t.equal(status.current, 4);
  t.equal(status.latest, 3);
}, { migrated: false });

void eachEngine(t, 'a database migrated by a different build is refused', async (t, db) => {
  await migrate(db.sql, { log, migrationsDir: t.testdir({ '0001_users.sql': threeSteps['0001_users.sql'] }) });
  const other = t.testdir({ '0001_accounts.sql': 'create table accounts (id text);\n' });
  await t.rejects(migrate(db.sql, { log, migrationsDir: other }), {
    name: 'StorageError',
    message: /migration 0001 was applied as "users" but this Hearth's 0001 is "accounts"/,
  });
}, { migrated: false });

void eachEngine(t, 'concurrent runs take turns under the advisory lock', async (t, db) => {
  const dir = t.testdir(threeSteps);
  const [a, b] = await Promise.all([
    migrate(db.sql, { log, migrationsDir: dir }),
    migrate(db.sql, { log, migrationsDir: dir }),
  ]);
  t.same([a.applied.length, b.applied.length].sort(), [0, 3], 'one run applied everything, the other nothing');
  t.same(await db.sql`select count(*)::int as n from schema_migrations`, [{ n: 3 }]);
}, { migrated: false });

void eachEngine(t, "Hearth's own migrations apply to an empty database", async (t, db) => {
  const own = await listMigrations();
  const result = await migrate(db.sql, { log });
  t.equal(result.from, 0);
  t.equal(result.to, own.length);
  t.same(result.applied, own.map((m) => m.file));
  t.same((await schemaStatus(db.sql)).pending, []);
}, { migrated: false });

void eachEngine(t, 'status of an empty database reads without creating anything', async (t, db) => {
  const status = await schemaStatus(db.sql, { migrationsDir: t.testdir(threeSteps) });
  t.same(status, {
    current: 0,
    latest: 3,
    applied: [],
    pending: ['0001_users.sql', '0002_devices.sql', '0003_device_names.sql'],
  });
  t.same(await tables(db), []);
}, { migrated: false });

t.test('misnamed or missing migration files stop the run', async (t) => {
  await t.rejects(listMigrations(t.testdir({ '0001_a.sql': '', '0003_c.sql': '' })), {
    name: 'StorageError',
    message: /must be numbered without gaps: expected 0002_\*\.sql, found 0003_c\.sql/,
  });
  await t.rejects(listMigrations(t.testdir({ '0001_a.sql': '', '2-b.sql': '' })), {
    name: 'StorageError',
    message: /migration file 2-b\.sql .* is not named NNNN_lowercase_name\.sql/,
  });
  t.same(await listMigrations(t.testdir({ 'notes.txt': '' })), [], 'a directory without .sql files is fine');
});

void eachEngine(t, 'migration 0042 moves search into event_search: events stored before it can still be found', async (t, db) => {
  // Hearth's own migrations up to 0041, then an event stored as Hearth stored it then, then the rest.
  const files = readdirSync(defaultMigrationsDir()).filter((name) => name.endsWith('.sql'));
  const upTo = (last: number) => Object.fromEntries(files.filter((name) => Number(name.slice(0, 4)) <= last)
    .map((name) => [name, readFileSync(join(defaultMigrationsDir(), name), 'utf8')]));
  await migrate(db.sql, { log, migrationsDir: t.testdir(upTo(41)) });
  const json = (type: string, content: object) => JSON.stringify({ type, content, room_id: '!r:x', sender: '@a:x' });
  await db.sql`
    insert into events (event_id, room_id, type, sender, depth, origin_server_ts, prev_events, auth_events, json,
      outlier, soft_failed, stream_position, state_before, state_after)
    values
      ('$message', '!r:x', 'm.room.message', '@a:x', 1, 1, '{}', '{}', ${json('m.room.message', { body: 'Martians landed' })}, false, false, 1, 1, 1),
      ('$member', '!r:x', 'm.room.member', '@a:x', 1, 1, '{}', '{}', ${json('m.room.member', { membership: 'join' })}, false, false, 2, 1, 1),
      ('$outlier', '!r:x', 'm.room.message', '@a:x', 1, 1, '{}', '{}', ${json('m.room.message', { body: 'martian outlier' })}, true, false, null, null, null)`;
  await migrate(db.sql, { log, migrationsDir: defaultMigrationsDir() });
  t.same(await db.sql`select event_id from event_search where vector @@ websearch_to_tsquery('english', 'martian')`, [{ event_id: '$message' }],
    'the timeline message is found, stemmed; not the outlier');
  t.same(await db.sql`select indexname from pg_indexes where indexname = 'events_search'`, [], 'the old index is gone');
}, { migrated: false });
