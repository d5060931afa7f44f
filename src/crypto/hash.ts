import { createHash } from 'node:crypto';

/** SHA-256 of bytes, or of a string's UTF-8 encoding. */
export function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
