import { createHash } from 'node:crypto';
import type { Random } from '../platform/clock.js';
import type { DeviceId } from '../protocol/index.js';

/** Access tokens are 256 random bits; only their SHA-256 is stored (see migrations/0003_accounts.sql). */
export function newAccessToken(random: Random): string {
  return random.token(32);
}

export function hashAccessToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const DEVICE_ID_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Ten capital letters, the shape Synapse gives (and clients show); 47 bits, unique per user in practice. */
export function newDeviceId(random: Random): DeviceId {
  return lettersFrom(random, DEVICE_ID_LETTERS, 10) as DeviceId;
}

/** `length` characters of `alphabet`, without modulo bias (bytes past the last full round are redrawn). */
export function lettersFrom(random: Random, alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of random.bytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}
