import t from 'tap';
import { eachEngine } from '../helpers/database.js';
import { createMemoryBus } from '../../src/platform/bus.js';
import { silentLogger } from '../../src/platform/logger.js';
import { tokenRevocationsOnBus } from '../../src/platform/token-revocations.js';
import { createAccountsStore } from '../../src/storage/index.js';
import { withTokenCache, type AccountStore, type TokenRecord } from '../../src/users/index.js';
import type { DeviceId, UserId } from '../../src/protocol/index.js';

/**
 * Access tokens are checked from memory (src/users/token-cache.ts). What a user notices is that a logged-out
 * token stops working at once, on every process, and that a live one keeps working.
 */

const ALICE = '@alice:test' as UserId;
const PHONE = 'PHONE' as DeviceId;

function record(overrides: Partial<TokenRecord> = {}): TokenRecord {
  return { userId: ALICE, deviceId: PHONE, isGuest: false, expiresTs: null, refreshPending: false, lastSeenTs: null, lastSeenIp: null, ...overrides };
}

/** A store holding tokens in a map, counting its reads; a read can be held back until released. */
function fakeStore() {
  const tokens = new Map<string, TokenRecord>([['h1', record()]]);
  const calls = { reads: 0, touches: 0 };
  let hold: Promise<void> | undefined;
  const store = {
    async accessToken(hash: string) {
      calls.reads++;
      const found = tokens.get(hash);
      await hold;
      return found;
    },
    async deleteDevice(userId: UserId, deviceId: DeviceId) {
      for (const [hash, token] of tokens) if (token.userId === userId && token.deviceId === deviceId) tokens.delete(hash);
      return 1;
    },
    async touchDevice() {
      calls.touches++;
    },
    async confirmRefresh(hash: string) {
      // The predecessor's token goes, as the database's cascade does.
      tokens.delete('old');
      const pending = tokens.get(hash);
      if (pending) tokens.set(hash, { ...pending, refreshPending: false });
    },
  };
  return {
    // Only the methods these tests call: the rest of the port is never reached.
    store: store as unknown as AccountStore,
    tokens,
    calls,
    holdReads() {
      let release!: () => void;
      hold = new Promise((done) => (release = done));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

t.test('a token is read once, then answered from memory until a revocation or its age', async (t) => {
  let now = 1000;
  const announced: string[] = [];
  const fake = fakeStore();
  const store = withTokenCache(fake.store, { now: () => now, announce: async (userId) => void announced.push(userId), ttlMs: 60_000 });
  t.same(await store.accessToken('h1'), record());
  t.same(await store.accessToken('h1'), record());
  t.equal(fake.calls.reads, 1, 'the second check reads nothing');
  t.equal(await store.accessToken('unknown'), undefined);
  t.equal(await store.accessToken('unknown'), undefined);
  t.equal(fake.calls.reads, 3, 'an unknown token is read every time: nothing is kept of it');

  now += 60_000;
  await store.accessToken('h1');
  t.equal(fake.calls.reads, 4, 'an entry of the full age is read again');

  await store.deleteDevice(ALICE, PHONE);
  t.same(announced, [ALICE], 'the revocation is announced to the other processes');
  t.equal(await store.accessToken('h1'), undefined, 'the logged-out token stops working at once');
});

t.test('a read under way while a revocation happens is answered but not kept', async (t) => {
  const fake = fakeStore();
  const store = withTokenCache(fake.store, { now: () => 0, announce: async () => undefined });
  const release = fake.holdReads();
  const racing = store.accessToken('h1');
  await store.deleteDevice(ALICE, PHONE);
  release();
  t.same(await racing, record(), 'the read began before the logout');
  t.equal(await store.accessToken('h1'), undefined, 'what it found was not kept');
});

t.test('last-seen values are kept in memory, so a busy client is not touched on every request', async (t) => {
  const fake = fakeStore();
  const store = withTokenCache(fake.store, { now: () => 0, announce: async () => undefined });
  await store.accessToken('h1');
  await store.touchDevice(ALICE, PHONE, 5000, '10.0.0.1');
  t.match(await store.accessToken('h1'), { lastSeenTs: 5000, lastSeenIp: '10.0.0.1' });
  await store.touchDevice(ALICE, PHONE, 6000, null);
  t.match(await store.accessToken('h1'), { lastSeenTs: 6000, lastSeenIp: '10.0.0.1' }, 'an unknown address leaves the old one');
  t.equal(fake.calls.reads, 1);
});

t.test("a refreshed token's first use revokes the cached token it replaces", async (t) => {
  const fake = fakeStore();
  fake.tokens.set('old', record());
  fake.tokens.set('new', record({ refreshPending: true, expiresTs: 99_999 }));
  const store = withTokenCache(fake.store, { now: () => 0, announce: async () => undefined });
  t.ok(await store.accessToken('old'));
  t.ok((await store.accessToken('new'))?.refreshPending);
  await store.confirmRefresh('new');
  t.equal(await store.accessToken('old'), undefined, 'the predecessor stops working');
  t.equal((await store.accessToken('new'))?.refreshPending, false);
});

eachEngine(t, 'a logout on one process stops the token on another that had it in memory', async (t, db) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const process = () => {
    let forget: (userId: string) => void = () => undefined;
    const revocations = tokenRevocationsOnBus(bus, silentLogger(), (userId) => forget(userId));
    t.teardown(revocations.unsubscribe);
    const store = withTokenCache(createAccountsStore(db.sql), { now: () => Date.now(), announce: revocations.announce });
    forget = store.forgetUser;
    return store;
  };
  const one = process();
  const two = process();
  const profile = { displayName: null, avatarUrl: null };
  await one.createUser(
    { userId: ALICE, passwordHash: null, createdTs: 0, deactivated: false, admin: false, isGuest: false },
    { deviceId: PHONE, displayName: null, tokenHash: 'hash-of-phone' },
    profile,
  );
  t.match(await two.accessToken('hash-of-phone'), { userId: ALICE, deviceId: PHONE });
  t.match(await two.accessToken('hash-of-phone'), { userId: ALICE }, 'process two now holds it in memory');

  await one.deleteDevice(ALICE, PHONE);
  // The bus delivers asynchronously: the announcement arrives on its next turn.
  await new Promise((done) => setTimeout(done, 10));
  t.equal(await two.accessToken('hash-of-phone'), undefined, 'process two refuses it');
});
