import type postgres from 'postgres';
import type { Database } from './database.js';
import { ADVISORY_LOCK_NAMESPACE } from './migrate.js';

/**
 * A role only one process may hold at a time (the federation sender), as a PostgreSQL session advisory
 * lock on a connection of its own: the lock lives as long as that connection, so a process that dies
 * or loses its database connection gives the role up, and another process can take it.
 *
 * The connection is a client of its own (Database.openSession), not one reserved from the pool: the
 * postgres driver (3.4.9) cannot survive a reserved connection whose server session was killed (the next
 * statements on it never answer, and a later write throws where nothing can catch it, taking the process
 * down; porsager/postgres#1208). A statement on the lock's connection that does not answer within
 * LOCK_STATEMENT_TIMEOUT_MS counts as the connection lost: the client is ended and the role given up.
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

  const openSession = db.openSession;
  if (openSession === undefined) throw new Error('a PostgreSQL database gives sessions of their own');
  let conn: postgres.Sql | undefined;
  const letGo = (session: postgres.Sql) => {
    if (conn === session) conn = undefined;
    // Ended at once: a connection whose session was killed may never answer a polite goodbye.
    session.end({ timeout: 0 }).catch(() => undefined);
  };
  return {
    async tryAcquire() {
      if (conn !== undefined) return true;
      const session = openSession();
      try {
        const [row] = await answered(session<{ ok: boolean }[]>`select pg_try_advisory_lock(${ADVISORY_LOCK_NAMESPACE}, ${lockId}) as ok`);
        if (row?.ok === true) {
          conn = session;
          return true;
        }
      } catch {
        // The database is away: not this time.
      }
      letGo(session);
      return false;
    },

    async held() {
      const session = conn;
      if (session === undefined) return false;
      try {
        // The lock is this session's: still there exactly when the connection is.
        const [row] = await answered(session<{ held: boolean }[]>`
          select exists (
            select 1 from pg_locks
            where locktype = 'advisory' and pid = pg_backend_pid() and granted
              and classid = ${ADVISORY_LOCK_NAMESPACE} and objid = ${lockId}
          ) as held`);
        if (row?.held === true) return true;
      } catch {
        // The connection broke, and the lock with it.
      }
      letGo(session);
      return false;
    },

    async release() {
      const session = conn;
      if (session === undefined) return;
      await answered(session`select pg_advisory_unlock(${ADVISORY_LOCK_NAMESPACE}, ${lockId})`).catch(() => undefined);
      letGo(session);
    },
  };
}

/** How long a statement on the lock's connection may take before the connection counts as lost. */
export const LOCK_STATEMENT_TIMEOUT_MS = 10_000;

/** The statement's answer, or a rejection once LOCK_STATEMENT_TIMEOUT_MS pass without one. */
function answered<T>(statement: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error('the lock connection did not answer')), LOCK_STATEMENT_TIMEOUT_MS);
  });
  return Promise.race([statement, timeout]).finally(() => clearTimeout(timer));
}
