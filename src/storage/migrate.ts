import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type postgres from 'postgres';
import type { Logger } from '../platform/logger.js';
import { StorageError } from './errors.js';
import { packageRoot } from '../platform/package-root.js';

/**
 * Advisory lock keys, in the two-int4 key space (which never collides with single-bigint keys such as
 * hashed room ids). The first number is Hearth's namespace ('HRTH'); the second names the purpose.
 */
export const ADVISORY_LOCK_NAMESPACE = 0x48525448;
export const MIGRATION_LOCK_ID = 1;
/** Held from allocating events-stream positions until commit (room-store.ts); 2 is the test helpers'. */
export const EVENTS_STREAM_LOCK_ID = 3;
/** Held from drawing an account-data stream position until commit (user-data-store.ts). */
export const ACCOUNT_DATA_STREAM_LOCK_ID = 4;
/** Receipts, to-device and presence stream positions, each drawn like the account-data stream's. */
export const RECEIPTS_STREAM_LOCK_ID = 5;
export const TO_DEVICE_STREAM_LOCK_ID = 6;
export const PRESENCE_STREAM_LOCK_ID = 7;
/** Held from drawing a device-list stream position until commit (keys-store.ts, device-list-changes.ts). */
export const DEVICE_LIST_STREAM_LOCK_ID = 8;
/** Held, on a connection of its own, by the one process that sends federation traffic (leader-lock.ts). */
export const FEDERATION_SENDER_LOCK_ID = 9;
/** Held, the same way, by the one process that sends push notifications (src/push/sender.ts). */
export const PUSH_SENDER_LOCK_ID = 10;
/** Held, the same way, by the one process that sends application services their transactions (src/appservice/sender.ts). */
export const APPSERVICE_SENDER_LOCK_ID = 11;
/** Held from drawing a peeks stream position until commit (peeks-store.ts). */
export const PEEKS_STREAM_LOCK_ID = 12;

export interface Migration {
  readonly version: number;
  /** The file name without number and extension: `0001_instance.sql` is `instance`. */
  readonly name: string;
  readonly file: string;
  readonly sql: string;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly appliedTs: number;
}

export interface MigrateOptions {
  readonly log: Logger;
  /** Defaults to `migrations/` at the top of the Hearth package. */
  readonly migrationsDir?: string;
}

export interface MigrateResult {
  /** Schema version before the run (0: empty database). */
  readonly from: number;
  readonly to: number;
  /** File names applied by this run, in order. */
  readonly applied: string[];
}

export interface SchemaStatus {
  readonly current: number;
  readonly latest: number;
  readonly applied: readonly AppliedMigration[];
  /** File names not yet applied. */
  readonly pending: readonly string[];
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function defaultMigrationsDir(): string {
  return join(packageRoot(), 'migrations');
}

/**
 * The migration files in order. Every `.sql` file must be named `NNNN_name.sql` and the numbers must run
 * 1, 2, 3 ... without gaps, so a misnamed or missing file stops start-up instead of being skipped.
 */
export async function listMigrations(dir: string = defaultMigrationsDir()): Promise<Migration[]> {
  const entries = await readdir(dir).catch((err: unknown) => {
    throw new StorageError(`cannot read the migrations directory ${dir}; is the installation complete?`, { cause: err });
  });
  const files = entries.filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match?.[1] || !match[2]) {
      throw new StorageError(`migration file ${file} in ${dir} is not named NNNN_lowercase_name.sql`);
    }
    const version = Number(match[1]);
    const expected = migrations.length + 1;
    if (version !== expected) {
      throw new StorageError(
        `migrations in ${dir} must be numbered without gaps: expected ${pad(expected)}_*.sql, found ${file}`,
      );
    }
    migrations.push({ version, name: match[2], file, sql: await readFile(join(dir, file), 'utf8') });
  }
  return migrations;
}

/**
 * Brings the schema up to date. Each migration runs in its own transaction together with its row in
 * schema_migrations, so a failure leaves the database at the previous version, whole. A session advisory
 * lock spans the run: processes starting together against one server migrate one after the other, and the
 * later ones find nothing left to do.
 */
export async function migrate(sql: postgres.Sql, options: MigrateOptions): Promise<MigrateResult> {
  const { log } = options;
  const migrations = await listMigrations(options.migrationsDir);
  const latest = migrations.at(-1)?.version ?? 0;
  // Session locks and BEGIN/COMMIT by hand need one connection for the whole run.
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${ADVISORY_LOCK_NAMESPACE}, ${MIGRATION_LOCK_ID})`;
    try {
      if (!(await tableExists(conn))) {
        await conn`
          create table schema_migrations (
            version int primary key,
            name text not null,
            applied_ts bigint not null
          )`;
      }
      const recorded = await readApplied(conn);
      const from = checkCompatible(recorded, migrations);
      const applied: string[] = [];
      for (const migration of migrations.filter((m) => m.version > from)) {
        log.info({ migration: migration.file }, 'applying database migration');
        await applyOne(conn, migration);
        applied.push(migration.file);
      }
      if (applied.length > 0) log.info({ from, to: latest, applied }, 'database schema migrated');
      else log.debug({ version: from }, 'database schema up to date');
      return { from, to: latest, applied };
    } finally {
      // If the connection broke, the lock went with it; the failure that matters is the one already thrown.
      await conn`select pg_advisory_unlock(${ADVISORY_LOCK_NAMESPACE}, ${MIGRATION_LOCK_ID})`.catch((err: unknown) =>
        log.warn({ err }, 'could not release the migration lock'),
      );
    }
  } finally {
    conn.release();
  }
}

/** What `hearth migrate --status` prints. Reads only: an empty database reports version 0. */
export async function schemaStatus(sql: postgres.Sql, options: { migrationsDir?: string } = {}): Promise<SchemaStatus> {
  const migrations = await listMigrations(options.migrationsDir);
  const applied = (await tableExists(sql)) ? await readApplied(sql) : [];
  const current = applied.at(-1)?.version ?? 0;
  return {
    current,
    latest: migrations.at(-1)?.version ?? 0,
    applied,
    pending: migrations.filter((m) => m.version > current).map((m) => m.file),
  };
}

async function applyOne(conn: postgres.ReservedSql, migration: Migration): Promise<void> {
  await conn`begin`;
  try {
    // A marker that lives only as long as our transaction: if it is gone afterwards, the file ended the
    // transaction itself (a stray COMMIT), and its statements may have been committed piecemeal.
    await conn`select set_config('hearth.migration', ${migration.file}, true)`;
    await conn.unsafe(migration.sql).simple();
    const [marker] = await conn<{ value: string | null }[]>`select current_setting('hearth.migration', true) as value`;
    if (marker?.value !== migration.file) {
      throw new StorageError(`migration ${migration.file} ends the transaction itself; remove its BEGIN/COMMIT`);
    }
    await conn`
      insert into schema_migrations (version, name, applied_ts)
      values (${migration.version}, ${migration.name}, ${Date.now()})`;
    await conn`commit`;
  } catch (err) {
    await conn`rollback`.catch(() => undefined);
    if (err instanceof StorageError) throw err;
    const where = `${migration.file} failed${lineOf(err, migration.sql)}`;
    throw new StorageError(`migration ${where}: ${messageOf(err)}; none of it was applied`, { cause: err });
  }
}

/** The version the database is at, after checking it is one this code knows and names the same. */
function checkCompatible(recorded: readonly AppliedMigration[], migrations: readonly Migration[]): number {
  const current = recorded.at(-1)?.version ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StorageError(
      `database schema is at version ${current} but this Hearth knows only up to ${latest}; run a newer Hearth`,
    );
  }
  for (const row of recorded) {
    const known = migrations[row.version - 1];
    if (known?.name !== row.name) {
      throw new StorageError(
        `database migration ${pad(row.version)} was applied as "${row.name}" but this Hearth's ${pad(row.version)} ` +
          `is "${known?.name ?? 'missing'}"; the database comes from a different Hearth build`,
      );
    }
  }
  return current;
}

async function tableExists(sql: postgres.Sql): Promise<boolean> {
  const [row] = await sql<{ exists: boolean }[]>`select to_regclass('schema_migrations') is not null as exists`;
  return row?.exists === true;
}

async function readApplied(sql: postgres.Sql): Promise<AppliedMigration[]> {
  const rows = await sql<{ version: number; name: string; applied_ts: number }[]>`
    select version, name, applied_ts from schema_migrations order by version`;
  return rows.map((r) => ({ version: r.version, name: r.name, appliedTs: r.applied_ts }));
}

/** " at line N" from the error position PostgreSQL reports (1-based characters into the file). */
function lineOf(err: unknown, text: string): string {
  const position = typeof err === 'object' && err !== null && 'position' in err ? Number(err.position) : NaN;
  if (!Number.isInteger(position) || position < 1) return '';
  return ` at line ${text.slice(0, position - 1).split('\n').length}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function pad(version: number): string {
  return String(version).padStart(4, '0');
}
