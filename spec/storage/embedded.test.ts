import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { silentLogger } from '../../src/platform/logger.js';
import { createInstanceRepository, migrate, openDatabase, openEmbedded, schemaStatus } from '../../src/storage/index.js';
import { embeddedSeed } from '../helpers/database.js';

const log = silentLogger();
const fixture = fileURLToPath(new URL('./fixtures/open-embedded.ts', import.meta.url));

function socketDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('hearth-pg-'));
}

t.test('a new data directory is created, and its data survives close and reopen', async (t) => {
  // Other test files open embedded databases at the same time: give this one a temp folder of its own,
  // so that the socket folders counted are this process's only.
  // (Short, as unix socket paths are limited to about 100 bytes.)
  const ownTmp = mkdtempSync(join(tmpdir(), 'ht-'));
  const previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = ownTmp;
  t.teardown(() => {
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    rmSync(ownTmp, { recursive: true, force: true });
  });
  const dataDir = join(t.testdir(), 'db');
  const socketsBefore = socketDirs();
  const first = await openDatabase({ url: null, dataDir, log });
  t.teardown(() => first.close());
  t.equal(first.engine, 'embedded');
  await migrate(first.sql, { log });
  await createInstanceRepository(first.sql).claimServerName('example.org', 1_700_000_000_000);
  await first.sql`create table notes (id bigint generated always as identity, body text not null)`;
  await first.sql`insert into notes ${first.sql([{ body: 'one' }, { body: 'two' }])}`;
  await first.close();
  await first.close(); // closing twice is harmless
  t.notOk(existsSync(join(dataDir, 'hearth.lock')), 'close releases the lock');
  t.same(socketDirs(), socketsBefore, 'close removes the socket directory');

  const again = await openDatabase({ url: null, dataDir, log });
  t.teardown(() => again.close());
  t.same(await again.sql`select id, body from notes order by id`, [{ id: 1, body: 'one' }, { id: 2, body: 'two' }]);
  t.same((await schemaStatus(again.sql)).pending, [], 'the schema is still current');
  await t.rejects(createInstanceRepository(again.sql).claimServerName('other.example', 0), /belongs to server_name example\.org/);
});

t.test('a second open of the same data directory in this process is refused', async (t) => {
  const dataDir = t.testdir();
  const db = await openEmbedded({ dataDir, seed: await embeddedSeed(), log });
  await t.rejects(openEmbedded({ dataDir, log }), {
    name: 'StorageError',
    message: new RegExp(`^the embedded database in .* is in use by another Hearth process \\(pid ${process.pid} `),
  });
  t.same(await db.sql`select 1 as still_fine`, [{ still_fine: 1 }], 'the refused open does not disturb the holder');
  await db.close();
  const reopened = await openEmbedded({ dataDir, log });
  t.same(await reopened.sql`select 1 as open`, [{ open: 1 }], 'after close the directory opens again');
  await reopened.close();
});

t.test('another process is refused while one holds the directory, and a crashed holder is recovered from', async (t) => {
  const dataDir = t.testdir();
  const seeded = await openEmbedded({ dataDir, seed: await embeddedSeed(), log });
  await seeded.sql`create table notes (id bigint generated always as identity, body text not null)`;
  await seeded.close();

  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(() => child.kill('SIGKILL'));
  const said = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', () => resolve(out.trim()));
  });
  const [word, socketPath] = said.split(' ');
  t.equal(word, 'holding');
  // A killed process cannot remove its socket directory; the test does, to leave no litter in /tmp.
  const socketDir = socketPath ? dirname(socketPath) : '';
  if (socketDir.startsWith(join(tmpdir(), 'hearth-pg-'))) {
    t.teardown(() => rmSync(socketDir, { recursive: true, force: true }));
  }

  await t.rejects(openEmbedded({ dataDir, log }), {
    name: 'StorageError',
    message: new RegExp(`is in use by another Hearth process \\(pid ${child.pid} `),
  });

  child.kill('SIGKILL');
  await exited;
  const after = await openEmbedded({ dataDir, log });
  t.teardown(() => after.close());
  t.same(
    await after.sql`select body from notes`,
    [{ body: 'written by the child' }],
    'the stale lock is taken over and the killed process\'s committed row is there',
  );
});

t.test('a child process reports the refusal as a clear message', async (t) => {
  const dataDir = t.testdir();
  const db = await openEmbedded({ dataDir, seed: await embeddedSeed(), log });
  t.teardown(() => db.close());
  const output = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
  t.equal(output.code, 2);
  t.match(output.out, /^refused: the embedded database in .* is in use by another Hearth process \(pid \d+ on .*\); stop that process first/);
});

t.test('a directory that is not a database is not overwritten', async (t) => {
  const dataDir = t.testdir({ pgdata: { 'something.txt': 'precious' } });
  await t.rejects(openDatabase({ url: null, dataDir, log }), {
    name: 'StorageError',
    message: /pgdata exists but holds no database \(no PG_VERSION\); move it away/,
  });
  t.notOk(existsSync(join(dataDir, 'hearth.lock')), 'the failed open released its lock');
});
