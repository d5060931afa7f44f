import type { Database } from '../../src/storage/index.js';
import { createAccountsStore, createLoginTokensStore, createRegistrationTokensStore, createRoomStore } from '../../src/storage/index.js';
import { fixedClock, systemRandom, type Clock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { parseServerName } from '../../src/protocol/index.js';
import { createRoomServer } from '../../src/rooms/index.js';
import {
  createAccountManagement,
  createAccountService,
  createDeviceService,
  createLoginTokens,
  createRegistrationTokens,
  createScryptHasher,
  createSharedSecretRegistration,
  createUia,
  withTokenCache,
  type ScryptCost,
} from '../../src/users/index.js';
import { LOCAL, localKey } from './rooms.js';
import { deviceChangesAnnounced } from '../../src/platform/sync-wakeups.js';

/** Real scrypt at a cost tests can afford many times (the default cost is tested in passwords.test.ts). */
export const TEST_SCRYPT_COST: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };
export const TEST_SERVER_NAME = parseServerName('hearth.test');
export const TEST_SHARED_SECRET = 'correct horse battery staple';

export interface AccountServicesOptions {
  readonly clock?: Clock;
  readonly enableRegistration?: boolean;
  /** Default TEST_SHARED_SECRET; null turns shared-secret registration off. */
  readonly sharedSecret?: string | null;
  readonly allowGuestAccess?: boolean;
  readonly accessTokenLifetimeMs?: number;
  readonly registrationRequiresToken?: boolean;
  /** login_via_existing_session: POST /login/get_token and m.login.token, tokens living this long. */
  readonly loginTokenLifetimeMs?: number;
  /** Tells syncs of the device-list changes device writes record (the E2EE keys service's announce). */
  readonly announceDevices?: (userId: string, position: number) => Promise<void>;
}

/**
 * The accounts, device and account-management services and shared-secret registration on a test
 * database, wired as server.ts does. A deactivated account leaves its rooms through a room server of its
 * own on the same database (the room write lock lives in the database, so it serialises with the app's).
 */
export function accountServices(db: Database, options: AccountServicesOptions = {}) {
  const clock = options.clock ?? fixedClock(1_700_000_000_000);
  const log = silentLogger();
  // Tokens are checked through the cache, as in server.ts: every revocation the tests drive goes through it.
  const store = withTokenCache(
    options.announceDevices ? deviceChangesAnnounced(createAccountsStore(db.sql), options.announceDevices, log) : createAccountsStore(db.sql),
    { now: () => clock.now(), announce: async () => undefined },
  );
  const uia = createUia({ store, clock, random: systemRandom });
  const passwords = createScryptHasher({ random: systemRandom, cost: TEST_SCRYPT_COST });
  const registrationTokens = createRegistrationTokens({
    store: createRegistrationTokensStore(db.sql),
    clock,
    random: systemRandom,
    isServerAdmin: async (userId) => (await store.user(userId))?.admin === true,
    required: options.registrationRequiresToken ?? false,
  });
  const loginTokens = options.loginTokenLifetimeMs === undefined
    ? undefined
    : createLoginTokens({
        store: createLoginTokensStore(db.sql), accounts: store, uia, passwords, clock, random: systemRandom, log,
        lifetimeMs: options.loginTokenLifetimeMs,
      });
  const accounts = createAccountService({
    store,
    uia,
    passwords,
    clock,
    random: systemRandom,
    serverName: TEST_SERVER_NAME,
    log,
    enableRegistration: options.enableRegistration ?? true,
    allowGuestAccess: options.allowGuestAccess ?? false,
    ...(options.accessTokenLifetimeMs === undefined ? {} : { accessTokenLifetimeMs: options.accessTokenLifetimeMs }),
    registrationTokens,
    ...(loginTokens ? { loginTokens: { redeem: loginTokens.redeem, getLoginToken: true } } : {}),
  });
  const sharedSecretRegistration = createSharedSecretRegistration({
    nonces: store,
    accounts,
    clock,
    random: systemRandom,
    secret: options.sharedSecret === undefined ? TEST_SHARED_SECRET : options.sharedSecret,
  });
  const roomStore = createRoomStore(db.sql);
  const rooms = createRoomServer({
    store: roomStore,
    notifier: { eventsPersisted: () => undefined },
    log,
    clock,
    random: systemRandom,
    serverName: LOCAL,
    signingKey: localKey,
  });
  const devices = createDeviceService({ store, uia, passwords, clock });
  const accountManagement = createAccountManagement({
    store,
    uia,
    passwords,
    rooms: {
      roomsWithMembership: (userId, membership) => roomStore.roomsWithMembership(userId, membership),
      leave: (roomId, userId) => rooms.leave(roomId, userId),
    },
    log,
  });
  return { store, accounts, devices, accountManagement, registrationTokens, sharedSecretRegistration, loginTokens, clock, uia, passwords };
}
