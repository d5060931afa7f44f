import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { decodeBase64, verifyJsonSignature } from '../../src/crypto/index.js';

/**
 * `hearth start` as a person runs it: a fresh folder, no configuration, the embedded database. The
 * process must create what it needs, say where, serve the endpoints, and stop cleanly on Ctrl-C.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

function hearth(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HEARTH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function start(cwd: string, env: NodeJS.ProcessEnv): Promise<Started> {
  const child = hearth(['start'], cwd, env);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 60 s:\n${out}\n${err}`)), 60_000);
    child.stdout!.on('data', () => {
      const match = /serving \S+ at (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before serving:\n${out}\n${err}`));
    });
  });
  return { child, url, stdout: () => out, stderr: () => err };
}

async function stop(started: Started): Promise<number | null> {
  started.child.kill('SIGINT');
  const [code] = (await once(started.child, 'exit')) as [number | null];
  return code;
}

t.test('first start creates config, key and data folder, serves, and stops cleanly', async (t) => {
  const dir = t.testdir({});
  const env = { HEARTH_LISTEN_PORT: '0', HEARTH_PUBLIC_BASEURL: 'http://localhost:8008/' };
  const first = await start(dir, env);
  t.teardown(() => void first.child.kill('SIGKILL'));
  t.match(first.stdout(), `wrote the configuration file ${path.join(dir, 'hearth.yaml')}`);
  t.match(first.stdout(), `created the data folder ${path.join(dir, 'data')}`);
  t.match(first.stdout(), `created the signing key ${path.join(dir, 'data', 'signing.key')}`);

  const keys = (await (await fetch(`${first.url}/_matrix/key/v2/server`)).json()) as {
    server_name: string;
    verify_keys: Record<string, { key: string }>;
  };
  t.equal(keys.server_name, 'localhost:8008');
  const [keyId, published] = Object.entries(keys.verify_keys)[0]!;
  t.ok(verifyJsonSignature(keys, 'localhost:8008', keyId, decodeBase64(published.key)), 'the key answer verifies');

  const version = await fetch(`${first.url}/_matrix/federation/v1/version`);
  t.same(await version.json(), { server: { name: 'Hearth', version: JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version } });
  const unknown = await fetch(`${first.url}/_matrix/client/v3/nope`);
  t.equal(unknown.status, 404);

  t.equal(await stop(first), 0, 'Ctrl-C stops with exit code 0');
  t.ok(existsSync(path.join(dir, 'data', 'db')), 'the embedded database is in the data folder');

  const second = await start(dir, env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  t.notMatch(second.stdout(), 'First start', 'nothing is created twice');
  const again = (await (await fetch(`${second.url}/_matrix/key/v2/server`)).json()) as { verify_keys: Record<string, unknown> };
  t.same(Object.keys(again.verify_keys), [keyId], 'the same signing key is used after a restart');
  t.equal(await stop(second), 0);
});

t.test('a wrong configuration stops start-up with a message naming the key', async (t) => {
  const dir = t.testdir({});
  await writeFile(path.join(dir, 'hearth.yaml'), 'listen:\n  port: 70000\ndatabse: {}\n');
  const child = hearth(['start'], dir);
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  t.equal(code, 1);
  t.match(err, 'listen.port: expected an integer');
  t.match(err, "databse: unknown key (did you mean 'database'?)");
  t.notOk(existsSync(path.join(dir, 'data')), 'nothing was created');
});

t.test('the CLI explains itself', async (t) => {
  const dir = t.testdir({});
  const help = hearth(['--help'], dir);
  let out = '';
  help.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(help, 'exit')) as [number];
  t.equal(code, 0);
  for (const command of ['start', 'generate-config', 'generate-signing-key', 'migrate']) t.match(out, command);

  const generate = hearth(['generate-config', '--server-name', 'example.org', '--config', 'conf/hearth.yaml'], dir);
  t.equal(((await once(generate, 'exit')) as [number])[0], 0);
  t.match(await readFile(path.join(dir, 'conf', 'hearth.yaml'), 'utf8'), /^server_name: "example.org"$/m);
  const again = hearth(['generate-config', '--config', 'conf/hearth.yaml'], dir);
  t.equal(((await once(again, 'exit')) as [number])[0], 1, 'an existing configuration is not overwritten');

  const key = hearth(['generate-signing-key', '--output', 'k/signing.key'], dir);
  t.equal(((await once(key, 'exit')) as [number])[0], 0);
  t.match(await readFile(path.join(dir, 'k', 'signing.key'), 'utf8'), /^ed25519 a_\w{4} \S{43}\n?$/);
});
