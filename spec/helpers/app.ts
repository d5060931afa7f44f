import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { createServerKeysService } from '../../src/federation/index.js';
import { signingKeyFromSeed } from '../../src/crypto/index.js';
import { silentLogger } from '../../src/platform/logger.js';
import { testDatabase } from './database.js';
import { accountServices, TEST_SERVER_NAME, type AccountServicesOptions } from './accounts.js';

/** The whole client-facing app on a fresh embedded database, for app.inject() tests of the accounts APIs. */
export async function accountsApp(t: Test, options: AccountServicesOptions = {}) {
  const db = await testDatabase(t);
  const services = accountServices(db, options);
  const app = await buildApp({
    log: silentLogger(),
    version: '0.0.0',
    maxJsonBodyBytes: 65536,
    trustProxy: false,
    serverName: TEST_SERVER_NAME,
    accounts: services.accounts,
    sharedSecretRegistration: services.sharedSecretRegistration,
    serverKeys: createServerKeysService({
      serverName: TEST_SERVER_NAME,
      signingKey: signingKeyFromSeed('a_test', new Uint8Array(32).fill(7)),
      oldVerifyKeys: {},
      validForMs: 86_400_000,
      clock: services.clock,
    }),
    wellKnown: { clientBaseUrl: 'http://localhost/', clientExtra: {}, server: null },
  });
  t.teardown(() => app.close());
  return { app, db, ...services };
}
