import type { Clock } from './clock.js';

/**
 * Rate limits as token buckets, in memory and per process (as Synapse's are per worker): each caller has a
 * bucket per class that holds up to `burstCount` tokens and refills at `perSecond`; a request takes one.
 * Several processes behind a load balancer each allow the full rate, which is what Synapse does too.
 */

export interface RateLimitRule {
  /** Tokens added back per second. */
  readonly perSecond: number;
  /** The most tokens a bucket holds: how many requests may come at once after a quiet spell. */
  readonly burstCount: number;
}

export type RateLimitDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/** Who is asking: a signed-in user is counted by user id, anyone else by the address they come from. */
export interface RateLimitCaller {
  readonly userId: string | null;
  readonly ip: string;
}

/** What the HTTP plumbing asks before running a handler whose contract names a rate-limit class. */
export interface RateLimiter {
  /** Whether the class has a rule; a route naming an unknown class fails at start instead of going unlimited. */
  knows(rateClass: string): boolean;
  take(rateClass: string, caller: RateLimitCaller): Promise<RateLimitDecision>;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (clock milliseconds). */
  at: number;
  readonly rule: RateLimitRule;
}

const ALLOWED: RateLimitDecision = { allowed: true };

/** The buckets themselves, keyed by any string; pure arithmetic over the clock, so tests drive time by hand. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAt: number;

  /** `maxBuckets`: past this many, full buckets (callers quiet long enough to be back at the burst) are dropped. */
  constructor(
    private readonly clock: Clock,
    private readonly maxBuckets = 10_000,
  ) {
    this.sweepAt = maxBuckets;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token from the key's bucket, or says how long until one is there (nothing is taken then). */
  take(key: string, rule: RateLimitRule): RateLimitDecision {
    const now = this.clock.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.sweepAt) this.sweep(now);
      bucket = { tokens: rule.burstCount, at: now, rule };
      this.buckets.set(key, bucket);
    } else {
      refill(bucket, now);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(((1 - bucket.tokens) / rule.perSecond) * 1000)) };
  }

  /**
   * A full bucket is the same as no bucket, so dropping those loses nothing. Buckets still refilling belong
   * to callers active within the last burst/rate seconds; if they alone exceed the bound, the next sweep
   * waits until the map has doubled, so a busy server does not sweep on every request.
   */
  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      refill(bucket, now);
      if (bucket.tokens >= bucket.rule.burstCount) this.buckets.delete(key);
    }
    this.sweepAt = Math.max(this.maxBuckets, this.buckets.size * 2);
  }
}

function refill(bucket: Bucket, now: number): void {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(bucket.rule.burstCount, bucket.tokens + (elapsed / 1000) * bucket.rule.perSecond);
  bucket.at = now;
}

export interface RateLimiterOptions {
  readonly rules: Readonly<Record<string, RateLimitRule>>;
  readonly clock: Clock;
  /** Server admins pass every limit, as in Synapse; asked only when a request would be refused. */
  readonly isExempt?: (userId: string) => Promise<boolean>;
  readonly maxBuckets?: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const buckets = new TokenBuckets(options.clock, options.maxBuckets);
  const rules = new Map(Object.entries(options.rules));
  return {
    knows: (rateClass) => rules.has(rateClass),
    async take(rateClass, caller) {
      const rule = rules.get(rateClass);
      if (rule === undefined) return ALLOWED;
      const key = caller.userId === null ? `${rateClass}\0ip\0${caller.ip}` : `${rateClass}\0user\0${caller.userId}`;
      const decision = buckets.take(key, rule);
      if (decision.allowed || caller.userId === null || !options.isExempt) return decision;
      return (await options.isExempt(caller.userId)) ? ALLOWED : decision;
    },
  };
}

/** The rules from the `rate_limits` config section (snake_case, as in the YAML); null when turned off. */
export function rateLimitRulesFromConfig(
  section: { readonly enabled: boolean } & Readonly<Record<string, boolean | { readonly per_second: number; readonly burst_count: number }>>,
): Record<string, RateLimitRule> | null {
  if (!section.enabled) return null;
  const rules: Record<string, RateLimitRule> = {};
  for (const [rateClass, value] of Object.entries(section)) {
    if (typeof value === 'object') rules[rateClass] = { perSecond: value.per_second, burstCount: value.burst_count };
  }
  return rules;
}
