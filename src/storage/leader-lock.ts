import type postgres from 'postgres';
import type { Database } from './database.js';
import { ADVISORY_LOCK_NAMESPACE } from './migrate.js';

/**
 * A role only one process may hold at a time (the federation sender), as a PostgreSQL session advisory
 * lock on a connection reserved for it: the lock lives as long as that connection, so a process that dies
 * or loses its database connection gives the role up, and another process can take it.
 *
 * The embedded engine serves one process only (its data directory is locked) over a single connection,
 * which must not be held back: there the one process always holds every role.
 */
export interface LeaderLock {
  /** Takes the role if no process holds it; true when this process holds it (now or already). */
  tryAcquire(): Promise<boolean>;
  /** Whether this process still holds the role: false once its connection is gone. */
  held(): Promise<boolean>;
  /** Gives the role up (stopping). */
  release(): Promise<void>;
}

export function createLeaderLock(db: Database, lockId: number): LeaderLock {
  if (db.engine === 'embedded') {
    let holding = false;
    return {
      tryAcquire: async () => (holding = true),
      held: async () => holding,
      release: async () => {
        holding = false;
      },
    };
  }

  let conn: postgres.ReservedSql | undefined;
  const letGo = () => {
    conn?.release();
    conn = undefined;
  };
  return {
    async tryAcquire() {
      if (conn !== undefined) return true;
      const reserved = await db.sql.reserve();
      try {
        const [row] = await reserved<{ ok: boolean }[]>`select pg_try_advisory_lock(${ADVISORY_LOCK_NAMESPACE}, ${lockId}) as ok`;
        if (row?.ok === true) {
          conn = reserved;
          return true;
        }
      } catch {
        // The database is away: not this time.
      }
      reserved.release();
      return false;
    },

    async held() {
      if (conn === undefined) return false;
      try {
        // The lock is this session's: still there exactly when the connection is.
        const [row] = await conn<{ held: boolean }[]>`
          select exists (
            select 1 from pg_locks
            where locktype = 'advisory' and pid = pg_backend_pid() and granted
              and classid = ${ADVISORY_LOCK_NAMESPACE} and objid = ${lockId}
          ) as held`;
        if (row?.held === true) return true;
      } catch {
        // The connection broke, and the lock with it.
      }
      letGo();
      return false;
    },

    async release() {
      if (conn === undefined) return;
      await conn`select pg_advisory_unlock(${ADVISORY_LOCK_NAMESPACE}, ${lockId})`.catch(() => undefined);
      letGo();
    },
  };
}
