import t from 'tap';
import { fixedClock } from '../../src/platform/clock.js';
import { createRateLimiter, rateLimitRulesFromConfig, TokenBuckets } from '../../src/platform/rate-limit.js';
import { parseConfig } from '../../src/platform/config/index.js';

const rule = { perSecond: 0.5, burstCount: 3 };

t.test('a bucket allows the burst, then says how long until the next token', async (t) => {
  const clock = fixedClock(1_000_000);
  const buckets = new TokenBuckets(clock);
  for (let i = 0; i < 3; i++) t.same(buckets.take('alice', rule), { allowed: true }, `request ${i + 1} of the burst`);
  t.same(buckets.take('alice', rule), { allowed: false, retryAfterMs: 2000 }, 'one token takes 1 / 0.5 s to come back');
  clock.advance(500);
  t.same(buckets.take('alice', rule), { allowed: false, retryAfterMs: 1500 }, 'a refused request takes nothing; the wait shrinks');
  clock.advance(1500);
  t.same(buckets.take('alice', rule), { allowed: true }, 'after the wait it succeeds');
  t.same(buckets.take('alice', rule), { allowed: false, retryAfterMs: 2000 });
});

t.test('a bucket refills at the rate but never past the burst; keys are independent', async (t) => {
  const clock = fixedClock(0);
  const buckets = new TokenBuckets(clock);
  for (let i = 0; i < 3; i++) buckets.take('alice', rule);
  t.same(buckets.take('bob', rule), { allowed: true }, 'another key has its own bucket');
  clock.advance(3_600_000);
  const answers = Array.from({ length: 4 }, () => buckets.take('alice', rule).allowed);
  t.same(answers, [true, true, true, false], 'an hour of quiet gives back the burst, no more');
});

t.test('a bucket with a fractional rate rounds the wait up to whole milliseconds', async (t) => {
  const buckets = new TokenBuckets(fixedClock(0));
  const login = { perSecond: 0.17, burstCount: 1 };
  buckets.take('ip', login);
  t.same(buckets.take('ip', login), { allowed: false, retryAfterMs: 5883 });
});

t.test('past the bound, full buckets are swept and refilling ones kept', async (t) => {
  const clock = fixedClock(0);
  const buckets = new TokenBuckets(clock, 4);
  for (const key of ['a', 'b', 'c']) buckets.take(key, rule);
  for (let i = 0; i < 3; i++) buckets.take('busy', rule);
  t.equal(buckets.size, 4);
  clock.advance(2000);
  buckets.take('d', rule);
  t.equal(buckets.size, 2, 'a, b and c were full again and dropped; busy is still refilling');
  t.same(buckets.take('busy', rule), { allowed: true }, 'the busy caller kept its refilled token');
  t.same(buckets.take('busy', rule), { allowed: false, retryAfterMs: 2000 }, 'and was not given a fresh burst');
  for (const key of ['e', 'f', 'g']) buckets.take(key, rule);
  t.equal(buckets.size, 5, 'nothing was full, so the map grows and the next sweep waits');
});

t.test('the limiter keys by user when signed in, else by address; admins pass when refused', async (t) => {
  const clock = fixedClock(0);
  const limiter = createRateLimiter({
    rules: { message: { perSecond: 1, burstCount: 1 }, login: { perSecond: 1, burstCount: 1 } },
    clock,
    isExempt: async (userId) => userId === '@admin:hearth.test',
  });
  t.ok(limiter.knows('message'));
  t.notOk(limiter.knows('typing'));
  const alice = { userId: '@alice:hearth.test', ip: '10.0.0.1' };
  t.ok((await limiter.take('message', alice)).allowed);
  t.notOk((await limiter.take('message', alice)).allowed, 'alice used her burst');
  t.ok((await limiter.take('message', { userId: '@bob:hearth.test', ip: '10.0.0.1' })).allowed, 'bob at the same address is not alice');
  t.ok((await limiter.take('login', alice)).allowed, 'each class has its own bucket');
  t.ok((await limiter.take('login', { userId: null, ip: '10.0.0.1' })).allowed, 'an anonymous caller is counted by address');
  t.notOk((await limiter.take('login', { userId: null, ip: '10.0.0.1' })).allowed);
  t.ok((await limiter.take('login', { userId: null, ip: '10.0.0.2' })).allowed, 'another address is not limited');
  const admin = { userId: '@admin:hearth.test', ip: '10.0.0.1' };
  for (let i = 0; i < 5; i++) t.ok((await limiter.take('message', admin)).allowed, `admin request ${i + 1}`);
});

t.test('the config gives every class a Synapse-like default, and enabled: false gives no rules', async (t) => {
  const options = { source: 'test.yaml', baseDir: '/srv/hearth' };
  const rules = rateLimitRulesFromConfig(parseConfig('', options).rate_limits);
  t.same(rules?.message, { perSecond: 0.2, burstCount: 10 });
  t.same(rules?.login, { perSecond: 0.17, burstCount: 3 });
  t.same(rules?.registration, { perSecond: 0.17, burstCount: 10 }, 'one sign-up takes two or three requests');
  t.same(rules?.membership, { perSecond: 0.1, burstCount: 10 });
  t.notOk(rules && 'enabled' in rules, 'enabled is a switch, not a class');
  const tuned = rateLimitRulesFromConfig(parseConfig('rate_limits: { message: { per_second: 2 } }', options).rate_limits);
  t.same(tuned?.message, { perSecond: 2, burstCount: 10 }, 'a class sets only what it changes');
  t.equal(rateLimitRulesFromConfig(parseConfig('rate_limits: { enabled: false }', options).rate_limits), null);
  t.throws(() => parseConfig('rate_limits: { message: { per_second: 0 } }', options), 'a rate of zero is refused');
});
