import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatSigningKeyFile, parseSigningKeyFile, signingKeyFromSeed, type SigningKey } from '../crypto/index.js';
import type { Random } from './clock.js';

export class SigningKeyFileError extends Error {
  override name = 'SigningKeyFileError';
}

/** A fresh key with a version like Synapse's ('a_' and four random characters). */
export function generateSigningKey(random: Random): SigningKey {
  const version = `a_${random.token(6).replace(/[^A-Za-z0-9]/g, '').slice(0, 4).padEnd(4, '0')}`;
  return signingKeyFromSeed(version, random.bytes(32));
}

/**
 * Reads the server's signing key, creating it on first start. The file holds the private seed, so it
 * is written readable by its owner only. The first key in the file signs; Synapse's format is used
 * so a key can move between the two.
 */
export async function loadOrCreateSigningKey(
  file: string,
  random: Random,
): Promise<{ key: SigningKey; created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new SigningKeyFileError(`cannot read the signing key ${file}: ${(err as Error).message}`);
    }
  }
  if (text === undefined) {
    const key = generateSigningKey(random);
    await writeSigningKeyFile(file, key);
    return { key, created: true };
  }
  let keys: SigningKey[];
  try {
    keys = parseSigningKeyFile(text);
  } catch (err) {
    throw new SigningKeyFileError(`the signing key ${file} is not valid: ${(err as Error).message}`);
  }
  const key = keys[0];
  if (!key) throw new SigningKeyFileError(`the signing key ${file} holds no key`);
  return { key, created: false };
}

export async function writeSigningKeyFile(file: string, key: SigningKey, options: { overwrite?: boolean } = {}): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, formatSigningKeyFile([key]), { mode: 0o600, flag: options.overwrite ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SigningKeyFileError(`${file} already exists; it holds this server's identity, so it is not overwritten`);
    }
    throw err;
  }
}
