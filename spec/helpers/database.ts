/**
 * Cheap, isolated databases for tests: a fresh one per test, on the embedded engine always and on PostgreSQL
 * too when DATABASE_URL is set.
 *
 * Embedded: initdb costs seconds, so a migrated data directory is built once and cached as a tarball under
 * node_modules/.cache/hearth/, keyed by the PGlite version, the embedded settings and the migrations'
 * contents; a test loads it into an in-memory PGlite (0.4 s on a quiet machine, seconds on a busy one).
 * A migrated one a test is done with goes back to its process's pool, and the next test gets it emptied
 * back to the template's rows and sequences (~30 ms). PostgreSQL: a migrated template
 * database is built once per migrations hash, and each test gets `CREATE DATABASE ... TEMPLATE` (~50 ms),
 * dropped on teardown.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import tap, { type Test } from 'tap';
import { silentLogger } from '../../src/platform/logger.js';
import {
  ADVISORY_LOCK_NAMESPACE,
  EMBEDDED_SETTINGS,
  listMigrations,
  migrate,
  openDatabase,
  openEmbedded,
  type Database,
  type EmbeddedDatabase,
} from '../../src/storage/index.js';
import { packageRoot } from '../../src/platform/package-root.js';

export type Engine = 'embedded' | 'postgres';

export interface TestDatabaseOptions {
  /** Default: embedded. */
  readonly engine?: Engine;
  /** false gives an empty database (no schema_migrations even), for migration tests. Default true. */
  readonly migrated?: boolean;
}

/** The engines this run covers: embedded always, PostgreSQL when DATABASE_URL is set. */
export function engines(): Engine[] {
  return process.env.DATABASE_URL ? ['embedded', 'postgres'] : ['embedded'];
}

/** A fresh database for this test, closed (and on PostgreSQL dropped) when the test ends. */
export async function testDatabase(t: Test, options: TestDatabaseOptions = {}): Promise<Database> {
  const engine = options.engine ?? 'embedded';
  const migrated = options.migrated ?? true;
  if (engine === 'embedded') {
    if (migrated) return pooledEmbedded(t);
    const db = await openEmbedded({ dataDir: null, seed: await embeddedSeed(migrated), log: silentLogger() });
    t.teardown(() => db.close());
    return db;
  }
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('testDatabase({ engine: "postgres" }) needs DATABASE_URL');
  const name = await createPostgresDatabase(url, migrated);
  const db = await openDatabase({ url: withDatabase(url, name), dataDir: '', poolSize: 4, log: silentLogger() });
  t.teardown(async () => {
    await db.close();
    await dropPostgresDatabase(url, name);
  });
  return db;
}

/**
 * A fresh, migrated PostgreSQL database's URL for a whole server under test (DATABASE_URL's server),
 * dropped when the test ends.
 */
export async function testPostgresUrl(t: Test): Promise<string> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('testPostgresUrl needs DATABASE_URL');
  const name = await createPostgresDatabase(url, true);
  t.teardown(() => dropPostgresDatabase(url, name));
  return withDatabase(url, name);
}

/**
 * The embedded template as a `seed` for openEmbedded, for tests that need a persistent data directory
 * without paying for initdb.
 */
export async function embeddedSeed(migrated = true): Promise<Blob> {
  return new Blob([await embeddedTemplate(migrated)]);
}

/** Runs `fn` as one subtest per engine, each with its own fresh database. */
export async function eachEngine(
  t: Test,
  name: string,
  fn: (t: Test, db: Database) => Promise<void>,
  options: Omit<TestDatabaseOptions, 'engine'> = {},
): Promise<void> {
  for (const engine of engines()) {
    await t.test(`${name} [${engine}]`, async (t) => {
      const db = await testDatabase(t, { ...options, engine });
      await fn(t, db);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Embedded: template tarballs, cached on disk and in memory.

const cacheDir = join(packageRoot(), 'node_modules', '.cache', 'hearth');
const templates = new Map<string, Promise<Buffer>>();

async function embeddedTemplate(migrated: boolean): Promise<Buffer> {
  const key = await templateKey(migrated);
  let template = templates.get(key);
  if (template === undefined) {
    template = loadOrBuild(key, migrated);
    templates.set(key, template);
    template.catch(() => templates.delete(key));
  }
  return template;
}

async function loadOrBuild(key: string, migrated: boolean): Promise<Buffer> {
  const file = join(cacheDir, `pglite-${key}.tar`);
  try {
    return readFileSync(file);
  } catch {
    // not cached yet
  }
  const seed = migrated ? await embeddedTemplate(false) : undefined;
  const db = await openEmbedded({ dataDir: null, log: silentLogger(), ...(seed ? { seed: new Blob([seed]) } : {}) });
  let tarball: Buffer;
  try {
    if (migrated) await migrate(db.sql, { log: silentLogger() });
    tarball = Buffer.from(await (await db.dump()).arrayBuffer());
  } finally {
    await db.close();
  }
  // Another test process may be building the same file: each writes a private name and renames it into
  // place, so readers only ever see a complete tarball and the last writer wins with identical content.
  mkdirSync(cacheDir, { recursive: true });
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, tarball);
  renameSync(temp, file);
  pruneCache(migrated ? 'migrated' : 'empty', file);
  return tarball;
}

/** Removes this kind's tarballs for older migrations or PGlite versions; the cache holds one of each. */
function pruneCache(kind: string, keep: string): void {
  for (const entry of readdirSync(cacheDir)) {
    const path = join(cacheDir, entry);
    if (entry.startsWith(`pglite-${kind}-`) && entry.endsWith('.tar') && path !== keep) rmSync(path, { force: true });
  }
}

async function templateKey(migrated: boolean): Promise<string> {
  const hash = createHash('sha256');
  const pglitePackage = new URL('../package.json', import.meta.resolve('@electric-sql/pglite'));
  hash.update(String((JSON.parse(readFileSync(pglitePackage, 'utf8')) as { version?: unknown }).version));
  hash.update(EMBEDDED_SETTINGS.join('\n'));
  if (migrated) hash.update(await migrationsHash());
  return `${migrated ? 'migrated' : 'empty'}-${hash.digest('hex').slice(0, 16)}`;
}

async function migrationsHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const m of await listMigrations()) hash.update(`${m.file}\n${m.sql}\n`);
  return hash.digest('hex').slice(0, 16);
}

// ---------------------------------------------------------------------------------------------------------
// Embedded: a pool of migrated databases per test process, emptied between tests.

/** Idle databases kept per process: tests that use two at once get both back. */
const MAX_IDLE = 2;
const idle: Array<{ db: EmbeddedDatabase; reset: string }> = [];
let poolClosesWithProcess = false;

/**
 * A migrated in-memory database for this test: one from the pool, emptied, or a new one. When the test
 * ends it goes back to the pool, unless the test closed it. It is emptied when handed out again, not when
 * given back: by then everything the last test started (servers, timers) has been torn down.
 */
async function pooledEmbedded(t: Test): Promise<Database> {
  let entry = idle.pop();
  if (entry) {
    await entry.db.sql.unsafe(entry.reset);
  } else {
    const db = await openEmbedded({ dataDir: null, seed: await embeddedSeed(true), log: silentLogger() });
    entry = { db, reset: await resetScript(db) };
  }
  if (!poolClosesWithProcess) {
    poolClosesWithProcess = true;
    // The root test ends after every subtest: idle databases would otherwise keep the process alive.
    tap.teardown(async () => {
      for (const { db } of idle.splice(0)) await db.close();
    });
  }
  const pooled = entry;
  let closedByTest = false;
  t.teardown(async () => {
    if (closedByTest) return;
    if (idle.length < MAX_IDLE) idle.push(pooled);
    else await pooled.db.close();
  });
  return {
    ...pooled.db,
    close: () => {
      closedByTest = true;
      return pooled.db.close();
    },
  };
}

/**
 * SQL that puts a freshly migrated database back as it is now: every table emptied and refilled with the
 * rows the migrations put there, every sequence back where they left it. Foreign keys are not checked meanwhile.
 */
async function resetScript(db: Database): Promise<string> {
  const tables = await db.sql<{ name: string }[]>`
    select quote_ident(tablename) as name from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations'`;
  const statements = ['set session_replication_role = replica'];
  for (const { name } of tables) {
    statements.push(`delete from ${name}`);
    const [{ rows }] = await db.sql.unsafe<[{ rows: string | null }]>(`select json_agg(t)::text as rows from ${name} t`);
    if (rows !== null) statements.push(`insert into ${name} select * from json_populate_recordset(null::${name}, ${literal(rows)})`);
  }
  statements.push('set session_replication_role = default');
  const sequences = await db.sql<{ name: string }[]>`
    select quote_ident(sequencename) as name from pg_sequences where schemaname = 'public'`;
  const positions: string[] = [];
  for (const { name } of sequences) {
    const [{ value, called }] = await db.sql.unsafe<[{ value: string; called: boolean }]>(`select last_value::text as value, is_called as called from ${name}`);
    positions.push(`setval('${name}', ${value}, ${called})`);
  }
  if (positions.length > 0) statements.push(`select ${positions.join(', ')}`);
  return statements.join(';\n');
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL: a template database per migrations hash, and one database per test created from it.

/** Key for the template build, beside the migration lock (id 1) in Hearth's advisory namespace. */
const TEMPLATE_LOCK_ID = 2;
/** Test databases left by crashed runs are dropped once they are this old. */
const STALE_AFTER_MS = 2 * 60 * 60 * 1000;

let templateReady: Promise<string> | undefined;
let staleSwept = false;

async function createPostgresDatabase(url: string, migrated: boolean): Promise<string> {
  const template = migrated ? await (templateReady ??= buildPostgresTemplate(url)) : 'template0';
  const name = `hearth_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdmin(url, async (sql) => {
    if (!staleSwept) {
      staleSwept = true;
      await sweepStale(sql);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await sql.unsafe(`create database "${name}" template "${template}"`);
        return;
      } catch (err) {
        // 55006: another session is connected to the template (a build finishing); it lets go quickly.
        if (codeOf(err) !== '55006' || attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  return name;
}

async function dropPostgresDatabase(url: string, name: string): Promise<void> {
  await withAdmin(url, (sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
}

/**
 * Builds `hearth_template_<hash>` once per migrations content. The advisory lock makes concurrent test
 * processes wait for one builder; the build happens under a scratch name renamed at the end, so a crash
 * mid-way never leaves a half-migrated template behind under the real name.
 */
async function buildPostgresTemplate(url: string): Promise<string> {
  const name = `hearth_template_${await migrationsHash()}`;
  await withAdmin(url, async (sql) => {
    await sql`select pg_advisory_lock(${ADVISORY_LOCK_NAMESPACE}, ${TEMPLATE_LOCK_ID})`;
    try {
      const [exists] = await sql`select 1 from pg_database where datname = ${name}`;
      if (exists) return;
      const scratch = `${name}_building_${randomBytes(4).toString('hex')}`;
      await sql.unsafe(`create database "${scratch}" template template0`);
      try {
        const db = await openDatabase({ url: withDatabase(url, scratch), dataDir: '', poolSize: 1, log: silentLogger() });
        try {
          await migrate(db.sql, { log: silentLogger() });
        } finally {
          await db.close();
        }
        await sql.unsafe(`alter database "${scratch}" rename to "${name}"`);
      } catch (err) {
        await sql.unsafe(`drop database if exists "${scratch}" with (force)`);
        throw err;
      }
    } finally {
      await sql`select pg_advisory_unlock(${ADVISORY_LOCK_NAMESPACE}, ${TEMPLATE_LOCK_ID})`;
    }
  });
  return name;
}

async function sweepStale(sql: postgres.Sql): Promise<void> {
  const rows = await sql<{ datname: string }[]>`select datname from pg_database where datname like 'hearth\\_test\\_%'`;
  for (const { datname } of rows) {
    const created = parseInt(datname.split('_')[2] ?? '', 36);
    if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) {
      await sql.unsafe(`drop database if exists "${datname}" with (force)`).catch(() => undefined);
    }
  }
}

/** A short-lived single connection to the DATABASE_URL database, for CREATE/DROP DATABASE. */
async function withAdmin<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
