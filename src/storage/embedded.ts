import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type postgres from 'postgres';
import type { Logger } from '../platform/logger.js';
import { createClient, probe } from './client.js';
import type { Database } from './database.js';
import { StorageError } from './errors.js';
import { acquireLock, type DirectoryLock } from './lock.js';

/**
 * Postgres settings for PGlite, on top of its defaults. PGlite keeps shared_buffers at the stock 128 MB, all
 * of it touched at start-up inside the WASM heap (which never shrinks); 32 MB costs no measurable speed on a
 * homeserver's workload because the OS page cache still holds the files. maintenance_work_mem is capped for
 * the same reason: one large CREATE INDEX would otherwise grow the heap by 64 MB for the life of the process.
 * See bench/storage-memory.ts for the figures.
 */
export const EMBEDDED_SETTINGS: readonly string[] = ['shared_buffers=32MB', 'maintenance_work_mem=32MB'];

const startParams = [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS.flatMap((s) => ['-c', s])];

export interface EmbeddedOptions {
  /** Directory the engine owns: PGDATA in `pgdata/`, plus `hearth.lock`. null keeps everything in memory. */
  readonly dataDir: string | null;
  /** Start a new database from this dump (a `dump()` tarball) instead of running initdb. Tests use it. */
  readonly seed?: Blob;
  readonly log: Logger;
}

export interface EmbeddedDatabase extends Database {
  readonly engine: 'embedded';
  /** A tarball of the whole data directory, taken after a checkpoint; `seed` accepts it. */
  dump(): Promise<Blob>;
}

/**
 * Starts PGlite and puts it behind a unix socket that the ordinary `postgres` client connects to, so the
 * embedded engine runs exactly the SQL the PostgreSQL engine runs. The socket lives in a private (0700)
 * temporary directory rather than in the data directory: socket paths are limited to ~100 bytes and some
 * volume filesystems cannot hold sockets, and a TCP port would let any local user in (PGlite has no auth).
 */
export async function openEmbedded(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { log } = options;
  const undo: Array<() => Promise<void> | void> = [];
  try {
    let pgliteDir = 'memory://';
    let loadDataDir = options.seed;
    let lock: DirectoryLock | undefined;
    if (options.dataDir !== null) {
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      const held = acquireLock(join(options.dataDir, 'hearth.lock'), `the embedded database in ${options.dataDir}`);
      lock = held;
      undo.push(() => held.release());
      pgliteDir = join(options.dataDir, 'pgdata');
      if (isDatabaseDir(pgliteDir)) {
        loadDataDir = undefined;
      } else if (options.seed === undefined) {
        await initdbInChild(options.dataDir, pgliteDir, log);
      }
    }

    const pglite = await PGlite.create({ dataDir: pgliteDir, startParams, ...(loadDataDir ? { loadDataDir } : {}) });
    undo.push(() => pglite.close());

    const socketDir = mkdtempSync(join(tmpdir(), 'hearth-pg-'));
    undo.push(() => rmSync(socketDir, { recursive: true, force: true }));
    const socketPath = join(socketDir, '.s.PGSQL.5432');
    // Two slots although the client keeps one connection: after a dropped connection the client may dial
    // again before the server has noticed the old socket closing.
    const server = new PGLiteSocketServer({ db: pglite, path: socketPath, maxConnections: 2 });
    await server.start();
    undo.push(() => server.stop());

    const sql = createClient({ kind: 'socket', path: socketPath }, { max: 1, log });
    undo.push(() => sql.end({ timeout: 5 }));
    await probe(sql, 'the embedded database');

    log.debug({ dataDir: options.dataDir ?? 'memory' }, 'embedded database open');
    let closing: Promise<void> | undefined;
    const finish = () => {
      rmSync(socketDir, { recursive: true, force: true });
      lock?.release();
    };
    return {
      sql,
      engine: 'embedded',
      close: () => (closing ??= closeEmbedded(sql, server, pglite, log).finally(finish)),
      dump: async () => {
        await sql`checkpoint`;
        return pglite.dumpDataDir('none');
      },
    };
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (cleanupErr) {
        log.warn({ err: cleanupErr }, 'cleanup after a failed embedded open failed');
      }
    }
    throw err;
  }
}

/**
 * Shuts down in dependency order: the client (which waits for running queries), then the socket server once
 * its handler has let go of the session, then PGlite (which checkpoints). The wait in the middle matters:
 * pglite-socket rolls back a connection's open transaction after the socket closes, and that ROLLBACK must
 * reach PGlite before PGlite closes or it becomes an unhandled rejection.
 */
async function closeEmbedded(sql: postgres.Sql, server: PGLiteSocketServer, pglite: PGlite, log: Logger): Promise<void> {
  await sql.end({ timeout: 5 });
  const deadline = Date.now() + 5000;
  while (server.getStats().activeConnections > 0 || pglite.isInTransaction()) {
    if (Date.now() > deadline) {
      log.warn('embedded database: the socket server did not release its connection; closing anyway');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await server.stop();
  await pglite.close();
}

function isDatabaseDir(dir: string): boolean {
  if (existsSync(join(dir, 'PG_VERSION'))) return true;
  if (existsSync(dir)) {
    if (readdirSync(dir).length > 0) {
      throw new StorageError(`${dir} exists but holds no database (no PG_VERSION); move it away and start again`);
    }
    rmSync(dir, { recursive: true });
  }
  return false;
}

/**
 * Runs initdb for a new data directory in a child process, into a scratch directory renamed into place when
 * complete (so a crash mid-way leaves no half-made database). initdb needs a second full PGlite instance and
 * a copy of its heap: ~850 MB that, in our own process, would stay resident for its whole life (a worker
 * thread still leaves ~170 MB behind). A child returns all of it to the OS when it exits.
 */
async function initdbInChild(dataDir: string, pgdata: string, log: Logger): Promise<void> {
  const scratch = join(dataDir, 'pgdata.initdb');
  rmSync(scratch, { recursive: true, force: true });
  log.info({ dataDir }, 'creating the embedded database (first start only; takes a few seconds)');
  const started = Date.now();
  // Plain JavaScript, so the child needs no TypeScript loader; PGlite is imported by the URL this module
  // resolved, so the child uses the same copy whatever its working directory.
  const code = `
    const { pgliteUrl, dir, startParams } = JSON.parse(process.argv[1]);
    import(pgliteUrl)
      .then(({ PGlite }) => PGlite.create({ dataDir: dir, startParams }))
      .then((db) => db.close())
      .catch((err) => { process.stderr.write(String((err && err.stack) || err)); process.exitCode = 1; });
  `;
  const args = JSON.stringify({ pgliteUrl: import.meta.resolve('@electric-sql/pglite'), dir: scratch, startParams });
  const outcome = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    // NODE_OPTIONS is dropped: loaders meant for us (tsx, test coverage) have no business in this child.
    const child = spawn(process.execPath, ['-e', code, args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (err) => resolve({ code: null, stderr: String(err) }));
    child.once('close', (code) => resolve({ code, stderr }));
  });
  if (outcome.code !== 0) {
    rmSync(scratch, { recursive: true, force: true });
    const detail = outcome.stderr.trim() || `initdb exited with code ${outcome.code}`;
    throw new StorageError(`could not create the embedded database in ${dataDir}: ${detail}`);
  }
  renameSync(scratch, pgdata);
  log.info({ dataDir, ms: Date.now() - started }, 'embedded database created');
}
