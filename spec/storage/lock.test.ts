import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { acquireLock } from '../../src/storage/lock.js';

t.test('a lock is exclusive until released', async (t) => {
  const path = join(t.testdir(), 'hearth.lock');
  const lock = acquireLock(path, 'the test directory');
  t.match(JSON.parse(readFileSync(path, 'utf8')), { pid: process.pid });
  t.throws(() => acquireLock(path, 'the test directory'), {
    name: 'StorageError',
    message: new RegExp(`^the test directory is in use by another Hearth process \\(pid ${process.pid} on .*\\); stop that process first`),
  });
  lock.release();
  t.notOk(existsSync(path));
  acquireLock(path, 'the test directory').release();
});

t.test('a lock left by a dead process is taken over', async (t) => {
  const path = join(t.testdir(), 'hearth.lock');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(path, JSON.stringify({ pid: Number(dead), startTime: null, host: 'old', nonce: 'x' }));
  const lock = acquireLock(path, 'the test directory');
  t.match(JSON.parse(readFileSync(path, 'utf8')), { pid: process.pid });
  lock.release();
});

t.test('our own pid in a lock we do not hold is stale (pid reuse after a container restart)', async (t) => {
  const path = join(t.testdir(), 'hearth.lock');
  writeFileSync(path, JSON.stringify({ pid: process.pid, startTime: null, host: 'old', nonce: 'x' }));
  t.doesNotThrow(() => acquireLock(path, 'the test directory').release(), 'the stale lock is taken over');
});

const noProc = !existsSync('/proc/self/stat') && 'needs /proc';
t.test('a live pid that started at another time is a reused pid, so the lock is stale', { skip: noProc }, async (t) => {
  const path = join(t.testdir(), 'hearth.lock');
  writeFileSync(path, JSON.stringify({ pid: process.ppid, startTime: '1', host: 'old', nonce: 'x' }));
  t.doesNotThrow(() => acquireLock(path, 'the test directory').release(), 'the stale lock is taken over');
});

t.test('a garbled lock file is treated as stale', async (t) => {
  const path = join(t.testdir(), 'hearth.lock');
  writeFileSync(path, '{"pid": 12');
  t.doesNotThrow(() => acquireLock(path, 'the test directory').release(), 'the stale lock is taken over');
});

t.test('release leaves a lock that is no longer ours alone', async (t) => {
  const path = join(t.testdir(), 'hearth.lock');
  const lock = acquireLock(path, 'the test directory');
  writeFileSync(path, JSON.stringify({ pid: 1, startTime: null, host: 'elsewhere', nonce: 'theirs' }));
  lock.release();
  t.ok(existsSync(path), 'the other holder keeps its file');
});
