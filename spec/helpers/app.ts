import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { createServerKeysService } from '../../src/federation/index.js';
import { signingKeyFromSeed } from '../../src/crypto/index.js';
import { silentLogger } from '../../src/platform/logger.js';
import type { Database } from '../../src/storage/index.js';
import { testDatabase } from './database.js';
import { accountServices, TEST_SERVER_NAME, type AccountServicesOptions } from './accounts.js';
import { clientRooms } from './rooms.js';
import { userDataDeps } from './user-data.js';
import { directoryDeps } from './directory.js';
import { ephemeralServices } from './ephemeral.js';
import { memberProfileLookup, type FilterService } from '../../src/users/index.js';
import type { Clock } from '../../src/platform/clock.js';
import { createSyncStore, createUserDataStore, DEFAULT_EVENT_CACHE_SIZE, EventCache, StreamWindow } from '../../src/storage/index.js';
import { createLegacySync, createSyncService, IGNORED_USER_LIST, ignoredUsersOf, SyncNotifier, type SyncStreams } from '../../src/sync/index.js';
import { createMemoryBus } from '../../src/platform/bus.js';
import { roomNotifierOnBus } from '../../src/platform/stream-notices.js';
import { accountDataAnnounced, peeksAnnounced, wakeSyncOnBus } from '../../src/platform/sync-wakeups.js';
import { createRoomPeeks } from '../../src/rooms/index.js';
import { createPushRulesService, createPusherService } from '../../src/push/index.js';
import { createOpenIdStore, createPushersStore } from '../../src/storage/index.js';
import { createOpenIdTokens, createWhois } from '../../src/users/index.js';
import { systemRandom } from '../../src/platform/clock.js';
import { createDirectoryStore, createPeekStore, createRoomStore, createSearchStore } from '../../src/storage/index.js';
import { createSearchService } from '../../src/search/index.js';
import { createCrossSigning, createKeyBackupService, createKeysService } from '../../src/e2ee/index.js';
import { createKeyBackupStore, createKeysStore } from '../../src/storage/index.js';
import { createDehydratedDevices } from '../../src/e2ee/index.js';
import { createDehydratedDevicesStore } from '../../src/storage/index.js';
import { streamNotifierOnBus } from '../../src/platform/stream-notices.js';
import { createRateLimiter, type RateLimitRule } from '../../src/platform/rate-limit.js';
import { isUserId } from '../../src/protocol/index.js';

export interface AppOptions extends AccountServicesOptions {
  /** Rate limits by class, on the services' clock (admins exempt); absent: nothing is limited. */
  readonly rateLimits?: Readonly<Record<string, RateLimitRule>>;
}

/** The whole client-facing app on a fresh embedded database, for app.inject() tests of the accounts APIs. */
export async function accountsApp(t: Test, options: AppOptions = {}) {
  return appOn(t, await testDatabase(t), options);
}

/** The whole client-facing app on the given test database (eachEngine gives one per engine). */
export async function appOn(t: Test, db: Database, options: AppOptions = {}) {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  // As in server.ts: device writes are device-list changes the keys service announces.
  const keysStore = createKeysStore(db.sql);
  const keyRooms = createRoomStore(db.sql);
  const keys = createKeysService({
    store: keysStore,
    log: silentLogger(),
    serverName: TEST_SERVER_NAME,
    joinedRooms: (userId) => keyRooms.roomsWithMembership(userId, 'join'),
    notify: streamNotifierOnBus(bus, silentLogger(), 'deviceLists'),
  });
  const services = accountServices(db, { ...options, announceDevices: keys.announce });
  const crossSigning = createCrossSigning({
    store: keysStore,
    uia: services.uia,
    passwords: services.passwords,
    accounts: services.store,
    announce: keys.announce,
    announceTo: (userId, position) => streamNotifierOnBus(bus, silentLogger(), 'deviceLists')({ position, users: [userId] }),
  });
  const syncNotifier = new SyncNotifier();
  // As in server.ts: one stream window, handed the events the room store commits and read by /sync.
  const streamWindow = new StreamWindow(new EventCache(DEFAULT_EVENT_CACHE_SIZE));
  // As in server.ts: every stream announces itself on the bus, and the bus wakes waiting syncs.
  wakeSyncOnBus(bus, syncNotifier);
  const wiring = { userData: accountDataAnnounced(createUserDataStore(db.sql), bus, silentLogger()), roomNotifier: roomNotifierOnBus(bus, silentLogger()) };
  const userData = userDataDeps(db, services.clock, wiring);
  const ephemeral = ephemeralServices(t, db, { clock: services.clock, bus, userData: wiring.userData });
  const pushRules = createPushRulesService({ store: wiring.userData });
  const rooms = clientRooms(
    db, services.clock, memberProfileLookup(wiring.userData), wiring.roomNotifier,
    async (userId) => isUserId(userId) && (await services.store.user(userId))?.isGuest === true,
    async (userId) => (isUserId(userId) ? ignoredUsersOf(await wiring.userData.accountData(userId, null, IGNORED_USER_LIST)) : new Set()),
    streamWindow,
    { accountData: wiring.userData, pushRules },
  );
  const app = await buildApp({
    log: silentLogger(),
    version: '0.0.0',
    maxJsonBodyBytes: 65536,
    trustProxy: false,
    serverName: TEST_SERVER_NAME,
    accounts: services.accounts,
    devices: services.devices,
    accountManagement: services.accountManagement,
    ...(services.loginTokens ? { loginTokens: services.loginTokens } : {}),
    registrationTokens: services.registrationTokens,
    rooms,
    // As in server.ts: peeks announce themselves on the bus, which wakes the user's syncs.
    peeks: createRoomPeeks({
      store: createRoomStore(db.sql),
      serverName: TEST_SERVER_NAME,
      peeks: peeksAnnounced(createPeekStore(db.sql), bus, silentLogger()),
      resolve: (roomIdOrAlias) => rooms.resolveRoomId(roomIdOrAlias),
    }),
    ...userData,
    ...directoryDeps(db, services.clock, wiring),
    ...ephemeral.deps,
    sync: syncService(db, services.clock, userData.filters, syncNotifier, { ...ephemeral.deps, pushRules, keys: { deviceKeyCounts: keys.deviceKeyCounts } }, streamWindow),
    legacy: createLegacySync({
      store: createSyncStore(db.sql),
      rooms: createRoomStore(db.sql),
      notifier: syncNotifier,
      clock: services.clock,
      streams: ephemeral.deps,
      directory: createDirectoryStore(db.sql),
    }),
    pushRules,
    pushers: createPusherService({ store: createPushersStore(db.sql), clock: services.clock }),
    openId: createOpenIdTokens({ store: createOpenIdStore(db.sql), clock: services.clock, random: systemRandom, serverName: TEST_SERVER_NAME }),
    whois: createWhois({ store: services.store, serverName: TEST_SERVER_NAME }),
    e2eeKeys: { keys, crossSigning },
    keyBackup: createKeyBackupService({ store: createKeyBackupStore(db.sql) }),
    dehydratedDevices: createDehydratedDevices({
      store: createDehydratedDevicesStore(db.sql),
      toDevice: ephemeral.deps.toDevice,
      announce: keys.announce,
      clock: services.clock,
      log: silentLogger(),
    }),
    search: createSearchService({ search: createSearchStore(db.sql), store: createRoomStore(db.sql), clock: services.clock }),
    sharedSecretRegistration: services.sharedSecretRegistration,
    serverKeys: createServerKeysService({
      serverName: TEST_SERVER_NAME,
      signingKey: signingKeyFromSeed('a_test', new Uint8Array(32).fill(7)),
      oldVerifyKeys: {},
      validForMs: 86_400_000,
      clock: services.clock,
    }),
    wellKnown: { clientBaseUrl: 'http://localhost/', clientExtra: {}, server: null },
    rateLimiter: options.rateLimits
      ? createRateLimiter({
          rules: options.rateLimits,
          clock: services.clock,
          isExempt: async (userId) => isUserId(userId) && (await services.store.user(userId))?.admin === true,
        })
      : null,
  });
  t.teardown(() => app.close());
  return { app, db, syncNotifier, streamWindow, ephemeral, ...services };
}

/** Registers a user through the real UIA flow (m.login.dummy) and returns the new session. */
export async function registerUser(app: FastifyInstance, username: string, password = 'pw') {
  const url = '/_matrix/client/v3/register';
  const first = await app.inject({ method: 'POST', url, payload: { username, password } });
  const res = await app.inject({
    method: 'POST',
    url,
    payload: { username, password, auth: { type: 'm.login.dummy', session: first.json().session } },
  });
  return res.json() as { user_id: string; access_token: string; device_id: string };
}

/** /sync on a test database, as server.ts wires it (the notifier is woken by the caller's room notifier). */
export function syncService(db: Database, clock: Clock, filters: FilterService, notifier = new SyncNotifier(), streams?: SyncStreams, streamWindow?: StreamWindow) {
  return createSyncService({
    store: createSyncStore(db.sql, streamWindow ? { streamWindow } : {}),
    notifier,
    clock,
    ...(streams ? { streams } : {}),
    storedFilter: (requester, filterId) => filters.get(requester, requester.userId, filterId),
  });
}
