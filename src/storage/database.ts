import type postgres from 'postgres';
import type { Logger } from '../platform/logger.js';
import { createClient, describeTarget, probe } from './client.js';
import { openEmbedded } from './embedded.js';

/**
 * A connected database: the `postgres` client and how to close it. Both engines speak PostgreSQL through the
 * same client, so repositories and migrations never branch on `engine`; it is there for logs and diagnostics.
 *
 * Values: int8 columns arrive as JS numbers (see client.ts), numeric as strings, timestamps as Dates (Hearth
 * stores milliseconds in bigint columns instead), jsonb as parsed JSON.
 *
 * One rule for transactions: inside `sql.begin(async (tx) => ...)` use only `tx`. The embedded engine has a
 * single connection, so a query on the outer `sql` would wait for the transaction that is waiting for it.
 */
export interface Database {
  readonly sql: postgres.Sql;
  readonly engine: 'postgres' | 'embedded';
  /**
   * PostgreSQL only: a client of one connection of its own, outside the pool, for session state that lives
   * and dies with its connection (the leader lock's advisory lock). The caller ends it.
   */
  readonly openSession?: () => postgres.Sql;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; null selects the embedded engine. */
  readonly url: string | null;
  /** The embedded engine's directory (created if missing); unused with a URL. */
  readonly dataDir: string;
  /** Connections in the pool: default 10 for PostgreSQL; the embedded engine always uses one. */
  readonly poolSize?: number;
  /** A new embedded database starts from this dump instead of initdb (tests; see EmbeddedOptions.seed). */
  readonly embeddedSeed?: Blob;
  readonly log: Logger;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const { log } = options;
  if (options.url === null) {
    if (options.poolSize !== undefined && options.poolSize !== 1) {
      log.debug({ poolSize: options.poolSize }, 'the embedded database serves one connection; poolSize ignored');
    }
    const db = await openEmbedded({ dataDir: options.dataDir, log, ...(options.embeddedSeed ? { seed: options.embeddedSeed } : {}) });
    log.info({ engine: 'embedded', dataDir: options.dataDir }, 'database open');
    return db;
  }
  const url = options.url;
  const sql = createClient({ kind: 'url', url }, { max: options.poolSize ?? 10, log });
  try {
    await probe(sql, 'PostgreSQL');
  } catch (err) {
    await sql.end({ timeout: 0 });
    throw err;
  }
  log.info({ engine: 'postgres', target: describeTarget(sql) }, 'database open');
  let closing: Promise<void> | undefined;
  return {
    sql,
    engine: 'postgres',
    openSession: () => createClient({ kind: 'url', url }, { max: 1, log }),
    close: () => (closing ??= sql.end({ timeout: 5 })),
  };
}
