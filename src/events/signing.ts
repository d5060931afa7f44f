/**
 * Signing events (server-server-api.md, "Signing Events"): add the content hash, then sign the redacted
 * event, so that the signature still checks after a redaction; the signature goes on the full event.
 */
import {
  encodeBase64,
  isPlainObject,
  signBytes,
  signableJson,
  verifyJsonSignature,
  withSignature,
  type SigningKey,
} from '../crypto/index.js';
import { withContentHash } from './hashes.js';
import type { PduJson } from './pdu.js';
import { redactEvent } from './redaction.js';
import type { RoomVersionRules } from './room-versions.js';

/**
 * Returns a new event with `hashes.sha256` set and `signatures[serverName][key.keyId]` added (other
 * signatures kept). Throws CanonicalJsonError if the event cannot be canonically encoded.
 */
export function signEvent(event: PduJson, serverName: string, key: SigningKey, rules: RoomVersionRules): PduJson {
  const hashed = withContentHash(event);
  const signature = encodeBase64(signBytes(key, signableJson(redactEvent(hashed, rules))));
  return withSignature(hashed, serverName, key.keyId, signature);
}

/**
 * True when the redacted form of the event carries a valid signature by `serverName` with `keyId`. This
 * holds for a full event and for a redacted copy alike; whether the content is intact is checkContentHash's
 * question. False, never an exception, on malformed input.
 */
export function verifyEventSignature(
  event: PduJson,
  serverName: string,
  keyId: string,
  publicKey: Uint8Array,
  rules: RoomVersionRules,
): boolean {
  if (!isPlainObject(event)) return false;
  return verifyJsonSignature(redactEvent(event, rules), serverName, keyId, publicKey);
}
