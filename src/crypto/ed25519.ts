/**
 * Ed25519 signing keys, signing and verification over node:crypto (OpenSSL), which is two orders of
 * magnitude faster than pure-JS implementations. Importing a raw key into a KeyObject costs about as
 * much as a signature, so imported keys are cached: private keys beside their SigningKey, public keys in
 * a bounded map.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { Base64Error, decodeBase64, encodeBase64 } from './base64.js';

/** A server's signing key. `keyId` is `ed25519:<version>`; `seed` is the 32-byte private seed. */
export interface SigningKey {
  readonly keyId: string;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Thrown for a malformed key version, seed or signing key file. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

export const ED25519 = 'ed25519';
const KEY_ID_PREFIX = 'ed25519:';
const SEED_LENGTH = 32;
const PUBLIC_KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;
const KEY_VERSION = /^[a-zA-Z0-9_]+$/;

// DER headers that wrap a raw 32-byte Ed25519 key (RFC 8410): PKCS#8 for the seed, SPKI for the public key.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const privateKeys = new WeakMap<SigningKey, KeyObject>();

const MAX_CACHED_PUBLIC_KEYS = 4096;
const publicKeys = new Map<string, KeyObject>();

function importSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The version part of a key id (`ed25519:a_bc` -> `a_bc`). */
export function keyVersionOf(key: SigningKey): string {
  return key.keyId.startsWith(KEY_ID_PREFIX) ? key.keyId.slice(KEY_ID_PREFIX.length) : key.keyId;
}

/** Builds a signing key from its version (`[a-zA-Z0-9_]+`) and 32-byte seed. */
export function signingKeyFromSeed(version: string, seed: Uint8Array): SigningKey {
  if (!KEY_VERSION.test(version)) {
    throw new SigningKeyError(`key version ${JSON.stringify(version)} must match [a-zA-Z0-9_]+`);
  }
  if (seed.length !== SEED_LENGTH) {
    throw new SigningKeyError(`an ed25519 seed is ${SEED_LENGTH} bytes, not ${seed.length}`);
  }
  const ownSeed = Uint8Array.from(seed);
  const privateKey = importSeed(ownSeed);
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const key: SigningKey = Object.freeze({
    keyId: KEY_ID_PREFIX + version,
    seed: ownSeed,
    publicKey: Uint8Array.from(spki.subarray(spki.length - PUBLIC_KEY_LENGTH)),
  });
  privateKeys.set(key, privateKey);
  return key;
}

function privateKeyOf(key: SigningKey): KeyObject {
  let keyObject = privateKeys.get(key);
  if (keyObject === undefined) {
    keyObject = importSeed(key.seed);
    privateKeys.set(key, keyObject);
  }
  return keyObject;
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const cacheKey = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  let keyObject = publicKeys.get(cacheKey);
  if (keyObject === undefined) {
    keyObject = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = publicKeys.keys().next();
      if (oldest.done !== true) publicKeys.delete(oldest.value);
    }
    publicKeys.set(cacheKey, keyObject);
  }
  return keyObject;
}

function messageBytes(message: Uint8Array | string): Uint8Array {
  return typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
}

/** Signs a message (a string is signed as its UTF-8 bytes); returns the 64-byte signature. */
export function signBytes(key: SigningKey, message: Uint8Array | string): Uint8Array {
  return sign(null, messageBytes(message), privateKeyOf(key));
}

/** Checks an ed25519 signature. Returns false, never throws, for any malformed key or signature. */
export function verifyBytes(publicKey: Uint8Array, message: Uint8Array | string, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
  if (typeof message !== 'string' && !(message instanceof Uint8Array)) return false;
  try {
    return verify(null, messageBytes(message), publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * Reads the signing key file Synapse writes: one key per line, `ed25519 <version> <unpadded base64 seed>`.
 * Blank lines are skipped; anything else malformed throws SigningKeyError naming the line.
 */
export function parseSigningKeyFile(text: string): SigningKey[] {
  const keys: SigningKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const where = `signing key file line ${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 3) {
      throw new SigningKeyError(`${where}: expected "ed25519 <version> <base64 seed>"`);
    }
    const [algorithm, version, seedBase64] = parts as [string, string, string];
    if (algorithm !== ED25519) throw new SigningKeyError(`${where}: unsupported algorithm ${algorithm}`);
    let seed: Uint8Array;
    try {
      seed = decodeBase64(seedBase64);
    } catch (err) {
      if (err instanceof Base64Error) throw new SigningKeyError(`${where}: seed is not base64`);
      throw err;
    }
    try {
      keys.push(signingKeyFromSeed(version, seed));
    } catch (err) {
      if (err instanceof SigningKeyError) throw new SigningKeyError(`${where}: ${err.message}`);
      throw err;
    }
  }
  return keys;
}

/** Writes keys in the format parseSigningKeyFile reads, one line each, ending with a newline. */
export function formatSigningKeyFile(keys: readonly SigningKey[]): string {
  return keys.map((key) => `${ED25519} ${keyVersionOf(key)} ${encodeBase64(key.seed)}\n`).join('');
}
