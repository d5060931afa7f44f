import { randomBytes } from 'node:crypto';

/** Time behind a port, so tests can pin it and the core never reads a clock of its own. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export function fixedClock(start: number): Clock & { advance(ms: number): void; set(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}

/** Randomness behind a port, for the same reason. */
export interface Random {
  bytes(length: number): Uint8Array;
  /** A URL-safe random string with `bytes` bytes of entropy (access tokens, transaction ids ...). */
  token(bytes?: number): string;
}

export const systemRandom: Random = {
  bytes: (length) => randomBytes(length),
  token: (bytes = 32) => randomBytes(bytes).toString('base64url'),
};
