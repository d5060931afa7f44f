import type { AuthResult } from './types.js';

export const ALLOW: AuthResult = Object.freeze({ allowed: true });

/** A refusal; `rule` names the rule as the spec words it, e.g. "m.room.member join: user is banned". */
export function deny(rule: string): AuthResult {
  return { allowed: false, reason: rule };
}
