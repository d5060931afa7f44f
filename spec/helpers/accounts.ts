import type { Database } from '../../src/storage/index.js';
import { createAccountsStore } from '../../src/storage/index.js';
import { fixedClock, systemRandom, type Clock } from '../../src/platform/clock.js';
import { parseServerName } from '../../src/protocol/index.js';
import {
  createAccountService,
  createScryptHasher,
  createSharedSecretRegistration,
  createUia,
  type ScryptCost,
} from '../../src/users/index.js';

/** Real scrypt at a cost tests can afford many times (the default cost is tested in passwords.test.ts). */
export const TEST_SCRYPT_COST: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };
export const TEST_SERVER_NAME = parseServerName('hearth.test');
export const TEST_SHARED_SECRET = 'correct horse battery staple';

export interface AccountServicesOptions {
  readonly clock?: Clock;
  readonly enableRegistration?: boolean;
  /** Default TEST_SHARED_SECRET; null turns shared-secret registration off. */
  readonly sharedSecret?: string | null;
}

/** The accounts service and shared-secret registration on a test database, wired as server.ts does. */
export function accountServices(db: Database, options: AccountServicesOptions = {}) {
  const clock = options.clock ?? fixedClock(1_700_000_000_000);
  const store = createAccountsStore(db.sql);
  const accounts = createAccountService({
    store,
    uia: createUia({ store, clock, random: systemRandom }),
    passwords: createScryptHasher({ random: systemRandom, cost: TEST_SCRYPT_COST }),
    clock,
    random: systemRandom,
    serverName: TEST_SERVER_NAME,
    enableRegistration: options.enableRegistration ?? true,
  });
  const sharedSecretRegistration = createSharedSecretRegistration({
    nonces: store,
    accounts,
    clock,
    random: systemRandom,
    secret: options.sharedSecret === undefined ? TEST_SHARED_SECRET : options.sharedSecret,
  });
  return { store, accounts, sharedSecretRegistration, clock };
}
