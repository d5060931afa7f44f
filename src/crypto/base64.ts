/**
 * Unpadded base64 (appendices, "Unpadded Base64"): Matrix writes standard or URL-safe base64 without `=`
 * and reads either, padded or not. Buffer does the work; the checks here make decoding strict, because
 * Buffer silently skips characters it does not know.
 */

/** Thrown when a string is not base64 in any form Matrix accepts. */
export class Base64Error extends Error {
  override readonly name = 'Base64Error';
}

/** One alphabet or the other (never mixed), then at most two `=`. */
const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9\-_]*)(={0,2})$/;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Standard alphabet, no padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const padded = asBuffer(bytes).toString('base64');
  if (padded.endsWith('==')) return padded.slice(0, -2);
  if (padded.endsWith('=')) return padded.slice(0, -1);
  return padded;
}

/** URL-safe alphabet (`-` and `_`), no padding. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('base64url');
}

/**
 * Decodes standard or URL-safe base64, padded or unpadded. Throws Base64Error on characters outside the
 * alphabet, mixed alphabets, misplaced or excess padding, and lengths no encoding can produce. Unused low
 * bits in the last character are tolerated: the spec's own test seed has them set.
 */
export function decodeBase64(s: string): Uint8Array {
  const match = BASE64.exec(s);
  if (match === null) throw new Base64Error('not base64: unexpected character');
  const padding = (match[1] as string).length;
  const dataLength = s.length - padding;
  const remainder = dataLength % 4;
  if (remainder === 1) throw new Base64Error(`not base64: impossible length ${dataLength}`);
  if (padding !== 0 && (s.length % 4 !== 0 || padding !== 4 - remainder)) {
    throw new Base64Error('not base64: wrong padding');
  }
  // Node's 'base64' decoder reads both alphabets.
  return Buffer.from(s, 'base64');
}
