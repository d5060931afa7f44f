/**
 * Signing JSON (appendices, "Signing Details" and "Checking for a Signature"): the signature covers the
 * canonical JSON of the object without `signatures` and `unsigned`, and is stored at
 * `signatures[<entity>][<key id>]` as unpadded base64.
 */
import { Base64Error, decodeBase64, encodeBase64 } from './base64.js';
import { CanonicalJsonError, encodeCanonicalJsonWithout, isPlainObject } from './canonical-json.js';
import { signBytes, verifyBytes, type SigningKey } from './ed25519.js';

/** The top-level keys a signature does not cover. */
export const UNSIGNED_KEYS: readonly string[] = Object.freeze(['signatures', 'unsigned']);

/** A copy of `json` without the keys a signature does not cover: what gets encoded and signed. */
export function signableForm<T extends object>(json: T): Omit<T, 'signatures' | 'unsigned'> {
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = json as T & {
    signatures?: unknown;
    unsigned?: unknown;
  };
  return rest;
}

/** `signatures[<entity>][<key id>]`: unpadded base64 signatures. */
export type Signatures = Record<string, Record<string, string>>;

/** The canonical JSON string a signature over `json` covers. */
export function signableJson(json: object): string {
  return encodeCanonicalJsonWithout(json, UNSIGNED_KEYS);
}

/**
 * Returns a new object with `signatures[signingName][key.keyId]` added; existing signatures and `unsigned`
 * are carried over untouched. Throws CanonicalJsonError if the object cannot be canonically encoded or
 * its `signatures` is not an object of objects.
 */
export function signJson<T extends object>(
  json: T,
  signingName: string,
  key: SigningKey,
): T & { signatures: Signatures } {
  const signature = encodeBase64(signBytes(key, signableJson(json)));
  return withSignature(json, signingName, key.keyId, signature);
}

/** Returns a new object with one signature added under `signatures[signingName][keyId]`. */
export function withSignature<T extends object>(
  json: T,
  signingName: string,
  keyId: string,
  signature: string,
): T & { signatures: Signatures } {
  const existing = (json as { signatures?: unknown }).signatures;
  if (existing !== undefined && !isPlainObject(existing)) {
    throw new CanonicalJsonError('signatures', 'signatures must be an object');
  }
  const byEntity = existing?.[signingName];
  if (byEntity !== undefined && !isPlainObject(byEntity)) {
    throw new CanonicalJsonError(`signatures.${signingName}`, 'signatures of an entity must be an object');
  }
  // Existing entries are carried over as they are; only the one written here is known to be a string.
  // The key written first and the rest spread after it, not `{ ...json, signatures }`: V8 (Node 20) builds
  // a literal whose spread is followed by a new key in its slow path, about a microsecond per key, and
  // every event sent is signed. (Object.assign would be as fast, but it treats a key "__proto__" from
  // a remote server's JSON as the prototype instead of copying it.)
  const { [keyId]: _replacedSignature, ...otherKeys } = byEntity ?? {};
  const { [signingName]: _replacedEntity, ...otherEntities } = existing ?? {};
  const { signatures: _replaced, ...rest } = json as T & { signatures?: unknown };
  const signatures = { [signingName]: { [keyId]: signature, ...otherKeys }, ...otherEntities } as Signatures;
  return { signatures, ...rest } as unknown as T & { signatures: Signatures };
}

/**
 * Checks that `json` carries a valid signature by `signingName` with `keyId`, against `publicKey`.
 * False (never an exception) when the signature is missing, not base64, made with an algorithm other than
 * ed25519, or does not match, and when the object cannot be canonically encoded.
 */
export function verifyJsonSignature(json: object, signingName: string, keyId: string, publicKey: Uint8Array): boolean {
  if (!isPlainObject(json) || !keyId.startsWith('ed25519:')) return false;
  const byEntity = isPlainObject(json.signatures) ? json.signatures[signingName] : undefined;
  const encoded = isPlainObject(byEntity) ? byEntity[keyId] : undefined;
  if (typeof encoded !== 'string') return false;
  let signature: Uint8Array;
  let message: string;
  try {
    signature = decodeBase64(encoded);
    message = signableJson(json);
  } catch (err) {
    if (err instanceof Base64Error || err instanceof CanonicalJsonError) return false;
    throw err;
  }
  return verifyBytes(publicKey, message, signature);
}
