/**
 * Content and reference hashes (server-server-api.md, "Calculating the content hash for an event" and
 * "Calculating the reference hash for an event").
 */
import { decodeBase64, encodeBase64, encodeCanonicalJsonWithout, isPlainObject, sha256 } from '../crypto/index.js';
import type { PduJson } from './pdu.js';
import { redactEvent } from './redaction.js';
import type { RoomVersionRules } from './room-versions.js';

/** Keys the content hash does not cover. */
const CONTENT_HASH_OMITS: readonly string[] = Object.freeze(['unsigned', 'signatures', 'hashes']);
/** Keys the reference hash removes from the redacted event. */
const REFERENCE_HASH_OMITS: readonly string[] = Object.freeze(['signatures', 'unsigned']);

function contentHashBytes(event: PduJson): Buffer {
  return sha256(encodeCanonicalJsonWithout(event, CONTENT_HASH_OMITS));
}

/**
 * The content hash as unpadded base64: sha256 of the canonical JSON of the whole (unredacted) event without
 * `unsigned`, `signatures` and `hashes`. Throws CanonicalJsonError if the event cannot be encoded.
 */
export function computeContentHash(event: PduJson): string {
  return encodeBase64(contentHashBytes(event));
}

/** A new event with `hashes` set to `{ sha256: <content hash> }`, ready to be signed. */
export function withContentHash(event: PduJson): PduJson {
  // The key written first, not `{ ...event, hashes }`, which V8 builds slowly (see withSignature in signing.ts).
  const { hashes: _replaced, ...rest } = event;
  return { hashes: { sha256: computeContentHash(event) }, ...rest };
}

/**
 * True when `hashes.sha256` matches the event's content. False, never an exception, when it is missing,
 * not base64, or the event cannot be encoded. A false result on an event whose signature checks out means
 * it was redacted on the way (or tampered with): the spec then says to use the redacted form.
 */
export function checkContentHash(event: PduJson): boolean {
  const hashes = event.hashes;
  const claimed = isPlainObject(hashes) ? hashes.sha256 : undefined;
  if (typeof claimed !== 'string') return false;
  try {
    return contentHashBytes(event).equals(decodeBase64(claimed));
  } catch {
    return false;
  }
}

/**
 * The reference hash: sha256 of the canonical JSON of the redacted event without `signatures` and
 * `unsigned`. Event ids (v3+) and v12 room ids are built from it. Throws CanonicalJsonError if the
 * redacted event cannot be encoded.
 */
export function computeReferenceHash(event: PduJson, rules: RoomVersionRules): Uint8Array {
  return sha256(encodeCanonicalJsonWithout(redactEvent(event, rules), REFERENCE_HASH_OMITS));
}
