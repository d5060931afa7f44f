import { scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Random } from '../platform/clock.js';

/**
 * Password hashing with scrypt, a memory-hard function, run on libuv's thread pool so the event loop keeps
 * serving while a hash is computed. A stored hash names its own parameters (scrypt$N$r$p$salt$hash, salt
 * and hash in unpadded base64), so the cost can be raised later without breaking old hashes.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant-time in the hash comparison; false for a malformed stored value. */
  verify(password: string, stored: string): Promise<boolean>;
}

export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** 2^15 x 8 x 128 bytes = 32 MiB and about 50-100 ms per hash on a current server core. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Stored parameters above these are refused rather than allowed to exhaust memory. */
const MAX_N = 2 ** 20;
const MAX_RP = 64;

export function createScryptHasher(deps: { random: Random; cost?: ScryptCost }): PasswordHasher {
  const cost = deps.cost ?? DEFAULT_SCRYPT_COST;
  return {
    async hash(password) {
      const salt = Buffer.from(deps.random.bytes(SALT_BYTES));
      const key = await derive(password, salt, KEY_BYTES, cost);
      return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
    },

    async verify(password, stored) {
      const parsed = parseStored(stored);
      if (parsed === undefined) return false;
      const key = await derive(password, parsed.salt, parsed.hash.length, parsed.cost);
      return timingSafeEqual(key, parsed.hash);
    },
  };
}

function parseStored(stored: string): { cost: ScryptCost; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const powerOfTwo = Number.isInteger(N) && N > 1 && N <= MAX_N && (N & (N - 1)) === 0;
  if (!powerOfTwo || !Number.isInteger(r) || !Number.isInteger(p) || r < 1 || p < 1 || r > MAX_RP || p > MAX_RP) {
    return undefined;
  }
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const hash = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || hash.length < 16) return undefined;
  return { cost: { N, r, p }, salt, hash };
}

function derive(password: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is exactly the default cost, so leave room.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
