/**
 * Checks a server's key publication (GET /_matrix/key/v2/server, or one entry of a notary's answer):
 * the shape, the server name, and the server's own signature with one of the keys it lists. Pure.
 */
import { decodeBase64, isPlainObject, verifyJsonSignature } from '../crypto/index.js';

/** "Servers MUST use the lesser of [valid_until_ts] and 7 days into the future." */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * 3600_000;

export interface ServerKeyEntry {
  readonly keyId: string;
  /** Unpadded base64, as published. */
  readonly key: string;
  /** Until when the key may sign. */
  readonly validUntilTs: number;
  /** Set for a key from old_verify_keys: when it stopped being used. */
  readonly expiredTs: number | null;
}

export interface CheckedKeyResponse {
  readonly serverName: string;
  /** The answer's valid_until_ts as published (a notary passes the answer on unchanged). */
  readonly validUntilTs: number;
  readonly keys: readonly ServerKeyEntry[];
  /** The answer itself, signatures included. */
  readonly json: Readonly<Record<string, unknown>>;
}

export class KeyResponseError extends Error {
  override readonly name = 'KeyResponseError';
}

const KEY_ID = /^ed25519:[a-zA-Z0-9_]+$/;

function publicKeyOf(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const bytes = decodeBase64(value);
    return bytes.length === 32 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The keys in `json` if it is `expectedServer`'s valid, self-signed key publication; throws
 * KeyResponseError saying what is wrong otherwise. Keys of algorithms other than ed25519 are skipped.
 */
export function checkServerKeyResponse(json: unknown, expectedServer: string, now: number): CheckedKeyResponse {
  if (!isPlainObject(json)) throw new KeyResponseError('the key response is not a JSON object');
  if (json.server_name !== expectedServer) {
    throw new KeyResponseError(`the key response is for ${JSON.stringify(json.server_name)}, not ${expectedServer}`);
  }
  const validUntil = json.valid_until_ts;
  if (typeof validUntil !== 'number' || !Number.isSafeInteger(validUntil)) {
    throw new KeyResponseError('the key response has no integer valid_until_ts');
  }
  if (!isPlainObject(json.verify_keys)) throw new KeyResponseError('the key response has no verify_keys object');
  const keys: ServerKeyEntry[] = [];
  let selfSigned = false;
  const capped = Math.min(validUntil, now + MAX_KEY_VALIDITY_MS);
  for (const [keyId, value] of Object.entries(json.verify_keys)) {
    if (!KEY_ID.test(keyId) || !isPlainObject(value)) continue;
    const publicKey = publicKeyOf(value.key);
    if (publicKey === undefined) throw new KeyResponseError(`verify key ${keyId} is not a base64 ed25519 key`);
    keys.push({ keyId, key: value.key as string, validUntilTs: capped, expiredTs: null });
    if (verifyJsonSignature(json, expectedServer, keyId, publicKey)) selfSigned = true;
  }
  if (!selfSigned) throw new KeyResponseError(`the key response is not signed by ${expectedServer} with any of its verify_keys`);
  const old = json.old_verify_keys ?? {};
  if (!isPlainObject(old)) throw new KeyResponseError('old_verify_keys is not an object');
  for (const [keyId, value] of Object.entries(old)) {
    if (!KEY_ID.test(keyId) || !isPlainObject(value) || keys.some((k) => k.keyId === keyId)) continue;
    const expired = value.expired_ts;
    if (publicKeyOf(value.key) === undefined || typeof expired !== 'number' || !Number.isSafeInteger(expired)) continue;
    keys.push({ keyId, key: value.key as string, validUntilTs: expired, expiredTs: expired });
  }
  return { serverName: expectedServer, validUntilTs: validUntil, keys, json };
}
