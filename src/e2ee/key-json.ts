import { Base64Error, decodeBase64, encodeCanonicalJson, isPlainObject, signableJson, verifyJsonSignature } from '../crypto/index.js';
import { MatrixError } from '../protocol/index.js';

/**
 * The key objects clients publish (device keys, one-time and fallback keys, cross-signing keys), checked
 * as the spec describes them: pure functions over the JSON, no I/O.
 */

export type KeyJson = Record<string, unknown>;

/** The kinds of cross-signing key, as their `usage` and the /keys/query fields name them. */
export const CROSS_SIGNING_TYPES = ['master', 'self_signing', 'user_signing'] as const;
export type CrossSigningType = (typeof CROSS_SIGNING_TYPES)[number];

/** An ed25519 public key: 32 bytes in unpadded base64. */
function ed25519PublicKey(encoded: unknown): Uint8Array | undefined {
  if (typeof encoded !== 'string') return undefined;
  try {
    const bytes = decodeBase64(encoded);
    return bytes.length === 32 ? bytes : undefined;
  } catch (err) {
    if (err instanceof Base64Error) return undefined;
    throw err;
  }
}

/** Whether `json` carries a valid signature by `signer`'s key `keyId` (ed25519:...) with the given public key. */
export function signedBy(json: KeyJson, signer: string, keyId: string, publicKey: string): boolean {
  const key = ed25519PublicKey(publicKey);
  return key !== undefined && verifyJsonSignature(json, signer, keyId, key);
}

/** Whether two key objects say the same thing, signatures and unsigned aside. */
export function sameSignedContent(a: KeyJson, b: KeyJson): boolean {
  return signableJson(a) === signableJson(b);
}

/** Whether two key objects are the same, signatures included (unsigned aside). */
export function sameKey(a: KeyJson, b: KeyJson): boolean {
  const { unsigned: _a, ...restA } = a;
  const { unsigned: _b, ...restB } = b;
  return encodeCanonicalJson(restA) === encodeCanonicalJson(restB);
}

/** `signatures[user][keyId]` entries of an object, as [user, keyId, signature] triples. */
export function signaturesOf(json: KeyJson): Array<[string, string, string]> {
  const result: Array<[string, string, string]> = [];
  if (!isPlainObject(json.signatures)) return result;
  for (const [user, byKey] of Object.entries(json.signatures)) {
    if (!isPlainObject(byKey)) continue;
    for (const [keyId, signature] of Object.entries(byKey)) if (typeof signature === 'string') result.push([user, keyId, signature]);
  }
  return result;
}

/** A copy of `json` with the signatures added (an existing one by the same key is replaced). */
export function withSignatures(json: KeyJson, extra: ReadonlyArray<readonly [string, string, string]>): KeyJson {
  if (extra.length === 0) return json;
  const signatures: Record<string, Record<string, string>> = {};
  for (const [user, keyId, signature] of signaturesOf(json)) (signatures[user] ??= {})[keyId] = signature;
  for (const [user, keyId, signature] of extra) (signatures[user] ??= {})[keyId] = signature;
  return { ...json, signatures };
}

/**
 * A device's identity keys as POST /keys/upload takes them: they must name the uploading user and device
 * and, when `verify` is on, hold the device's ed25519 key and be signed by it.
 */
export function checkDeviceKeys(json: KeyJson, userId: string, deviceId: string, verify = true): KeyJson {
  if (json.user_id !== userId) throw new MatrixError('M_INVALID_PARAM', `device_keys.user_id must be your user id ${userId}`);
  if (json.device_id !== deviceId) throw new MatrixError('M_INVALID_PARAM', `device_keys.device_id must be the device you are logged in with (${deviceId})`);
  if (!Array.isArray(json.algorithms) || !json.algorithms.every((item) => typeof item === 'string')) {
    throw new MatrixError('M_BAD_JSON', 'device_keys.algorithms must be a list of strings');
  }
  if (!isPlainObject(json.keys) || !Object.values(json.keys).every((value) => typeof value === 'string')) {
    throw new MatrixError('M_BAD_JSON', 'device_keys.keys must map key ids to keys');
  }
  if (!isPlainObject(json.signatures)) throw new MatrixError('M_BAD_JSON', 'device_keys.signatures must be an object');
  if (!verify) return json;
  const keyId = `ed25519:${deviceId}`;
  const publicKey = json.keys[keyId];
  if (ed25519PublicKey(publicKey) === undefined) {
    throw new MatrixError('M_INVALID_PARAM', `device_keys.keys must hold the device's ed25519 key as ${keyId} (32 bytes, unpadded base64)`);
  }
  if (!signedBy(json, userId, keyId, publicKey as string)) {
    throw new MatrixError('M_INVALID_SIGNATURE', `device_keys must be signed by the device's own key ${keyId}`, { status: 400 });
  }
  return json;
}

/** A one-time or fallback key's name `<algorithm>:<key id>`, split. */
export function parseKeyName(name: string, field: string): { algorithm: string; keyId: string } {
  const colon = name.indexOf(':');
  if (colon <= 0 || colon === name.length - 1) throw new MatrixError('M_INVALID_PARAM', `${field}: '${name}' is not <algorithm>:<key id>`);
  return { algorithm: name.slice(0, colon), keyId: name.slice(colon + 1) };
}

/** One-time or fallback keys as uploaded: `<algorithm>:<key id>` to a key (a string or a signed object). */
export function parseUploadedKeys(keys: Readonly<Record<string, unknown>>, field: string): Array<{ algorithm: string; keyId: string; key: unknown }> {
  return Object.entries(keys).map(([name, key]) => {
    if (typeof key !== 'string' && !isPlainObject(key)) throw new MatrixError('M_BAD_JSON', `${field}.${name} must be a key string or a signed key object`);
    return { ...parseKeyName(name, field), key };
  });
}

/**
 * A cross-signing key as POST /keys/device_signing/upload takes it: the uploader's, with the usage it is
 * uploaded as and exactly one ed25519 key whose name carries the key itself. Returns the public key.
 */
export function checkCrossSigningKey(json: unknown, userId: string, type: CrossSigningType): { json: KeyJson; publicKey: string } {
  const field = `${type}_key`;
  if (!isPlainObject(json)) throw new MatrixError('M_BAD_JSON', `${field} must be an object`);
  if (json.user_id !== userId) throw new MatrixError('M_INVALID_PARAM', `${field}.user_id must be your user id ${userId}`);
  if (!Array.isArray(json.usage) || !json.usage.includes(type)) throw new MatrixError('M_INVALID_PARAM', `${field}.usage must include '${type}'`);
  const entries = isPlainObject(json.keys) ? Object.entries(json.keys) : [];
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) throw new MatrixError('M_INVALID_PARAM', `${field}.keys must hold exactly one key`);
  const [name, value] = entry;
  if (name !== `ed25519:${String(value)}` || ed25519PublicKey(value) === undefined) {
    throw new MatrixError('M_INVALID_PARAM', `${field}.keys must be { "ed25519:<public key>": "<public key>" } with a 32-byte unpadded base64 key`);
  }
  if (json.signatures !== undefined && !isPlainObject(json.signatures)) throw new MatrixError('M_BAD_JSON', `${field}.signatures must be an object`);
  return { json, publicKey: value as string };
}

/** The public key of a stored cross-signing key object (its one `ed25519:<key>` entry). */
export function crossSigningPublicKey(json: KeyJson): string | undefined {
  const keys = isPlainObject(json.keys) ? Object.values(json.keys) : [];
  return typeof keys[0] === 'string' ? keys[0] : undefined;
}
