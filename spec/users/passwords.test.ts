import t from 'tap';
import { systemRandom } from '../../src/platform/clock.js';
import { createScryptHasher, DEFAULT_SCRYPT_COST } from '../../src/users/index.js';

t.test('the default cost hashes to a self-describing scrypt string that verifies only the right password', async (t) => {
  const hasher = createScryptHasher({ random: systemRandom });
  const stored = await hasher.hash('hunter2');
  t.match(stored, new RegExp(`^scrypt\\$${DEFAULT_SCRYPT_COST.N}\\$8\\$1\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`));
  t.notMatch(stored, /hunter2/);
  t.equal(await hasher.verify('hunter2', stored), true);
  t.equal(await hasher.verify('hunter3', stored), false);
  t.not(await hasher.hash('hunter2'), stored, 'each hash has its own salt');
});

t.test('a hash made at one cost verifies under a hasher set to another', async (t) => {
  const cheap = createScryptHasher({ random: systemRandom, cost: { N: 2 ** 10, r: 8, p: 1 } });
  const stored = await cheap.hash('pässword');
  t.equal(await createScryptHasher({ random: systemRandom }).verify('pässword', stored), true);
  t.equal(await cheap.verify('pa\u0308ssword', stored), true, 'passwords are compared after NFKC normalisation');
});

t.test('hashing does not block the event loop', async (t) => {
  const hasher = createScryptHasher({ random: systemRandom });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  await hasher.hash('hunter2');
  clearInterval(timer);
  t.ok(ticks > 0, 'timers ran while scrypt was computing');
});

t.test('malformed or hostile stored values do not verify', async (t) => {
  const hasher = createScryptHasher({ random: systemRandom });
  for (const stored of ['', 'plain', 'bcrypt$1$2$3$4$5', 'scrypt$1000$8$1$c2FsdA$aGFzaA', `scrypt$${2 ** 30}$8$1$c2FsdHNhbHQ$${'A'.repeat(43)}`, 'scrypt$1024$8$1$$']) {
    t.equal(await hasher.verify('x', stored), false, stored);
  }
});
