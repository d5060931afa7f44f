import t from 'tap';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadOrCreateSigningKey, SigningKeyFileError } from '../../src/platform/signing-key-file.js';
import { systemRandom } from '../../src/platform/clock.js';
import { signBytes, verifyBytes } from '../../src/crypto/index.js';

t.test('the key is created once, private to its owner, and read back the same', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'keys', 'signing.key');
  const first = await loadOrCreateSigningKey(file, systemRandom);
  t.equal(first.created, true);
  t.match(first.key.keyId, /^ed25519:a_[A-Za-z0-9]{4}$/);
  t.equal((await stat(file)).mode & 0o777, 0o600);
  t.match(await readFile(file, 'utf8'), /^ed25519 a_[A-Za-z0-9]{4} [A-Za-z0-9+/]{43}\n?$/);
  const second = await loadOrCreateSigningKey(file, systemRandom);
  t.equal(second.created, false);
  t.equal(second.key.keyId, first.key.keyId);
  const signature = signBytes(first.key, 'hello');
  t.ok(verifyBytes(second.key.publicKey, 'hello', signature), 'the reloaded key is the same key');
});

t.test('a damaged key file stops start-up rather than being replaced', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'signing.key');
  await writeFile(file, 'not a key\n');
  await t.rejects(loadOrCreateSigningKey(file, systemRandom), SigningKeyFileError);
  t.equal(await readFile(file, 'utf8'), 'not a key\n', 'the file is left alone');
});
