import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { StorageError } from './errors.js';

/**
 * An exclusive lock on a directory, held by one live process: a file that only one process can create,
 * holding its pid.
 * PGlite has no locking of its own (it is one process's private Postgres), so two processes opening one
 * data directory would both write to it and corrupt it.
 *
 * A lock left by a dead process is taken over. "Dead" means the pid no longer exists or (on Linux) now
 * belongs to a process that started at another time, which covers pid reuse across container restarts.
 */
export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

interface Holder {
  readonly pid: number;
  readonly startTime: string | null;
  readonly host: string;
  readonly nonce: string;
}

/** Lock files this process holds, so a second open inside the same process is refused too. */
const heldHere = new Set<string>();

export function acquireLock(lockPath: string, what: string): DirectoryLock {
  const path = resolve(lockPath);
  const mine: Holder = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    host: hostname(),
    nonce: randomBytes(8).toString('hex'),
  };
  const content = JSON.stringify(mine);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path, content, mine.nonce)) {
      heldHere.add(path);
      return { path, release: () => release(path, content) };
    }
    const raw = readOrNull(path);
    if (raw === null) continue; // released between our attempt and the read
    const holder = parseHolder(raw);
    if (holder !== null && isAlive(holder, path)) {
      throw new StorageError(
        `${what} is in use by another Hearth process (pid ${holder.pid} on ${holder.host}); stop that process ` +
          `first. The embedded database serves one process only; use PostgreSQL to run several.`,
      );
    }
    takeOverStale(path, raw);
  }
  throw new StorageError(`could not take the lock ${path}: other processes keep racing for it`);
}

/**
 * Creates the lock file with its whole content in one step: written under a private name, then hard-linked
 * into place (link fails if the name exists), so no reader ever sees a half-written lock. Filesystems
 * without hard links fall back to an O_EXCL create.
 */
function createExclusive(path: string, content: string, nonce: string): boolean {
  const temp = `${path}.${process.pid}-${nonce}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    const code = errno(err);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
  } finally {
    unlinkSync(temp);
  }
  try {
    writeFileSync(path, content, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Moves a stale lock aside with rename, which only one racer can do to a given file. If the file we moved
 * turns out to be a fresh lock another process wrote after we read the stale one, it is put back; the next
 * attempt then finds that live holder and refuses.
 */
function takeOverStale(path: string, staleRaw: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw err;
  }
  if (readOrNull(aside) !== staleRaw) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone else already holds the path again; our moved copy was theirs to lose and they re-locked.
    }
  }
  unlinkSync(aside);
}

function release(path: string, content: string): void {
  heldHere.delete(path);
  // Only remove the file if it is still ours (it could have been judged stale and replaced meanwhile).
  if (readOrNull(path) === content) unlinkSync(path);
}

function isAlive(holder: Holder, path: string): boolean {
  if (holder.pid === process.pid) return heldHere.has(path);
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if (errno(err) !== 'EPERM') return false; // ESRCH: no such process
  }
  const startTime = processStartTime(holder.pid);
  return holder.startTime === null || startTime === null || startTime === holder.startTime;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); null where /proc is absent. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is parenthesised and may hold spaces; count fields after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function parseHolder(raw: string): Holder | null {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return null;
    const v = value as Record<string, unknown>;
    if (typeof v.pid !== 'number') return null;
    return {
      pid: v.pid,
      startTime: typeof v.startTime === 'string' ? v.startTime : null,
      host: typeof v.host === 'string' ? v.host : 'unknown host',
      nonce: typeof v.nonce === 'string' ? v.nonce : '',
    };
  } catch {
    return null; // a torn or foreign file: treated as stale
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
