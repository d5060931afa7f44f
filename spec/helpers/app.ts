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
import { memberProfileLookup } from '../../src/users/index.js';
import { createUserDataStore } from '../../src/storage/index.js';

/** The whole client-facing app on a fresh embedded database, for app.inject() tests of the accounts APIs. */
export async function accountsApp(t: Test, options: AccountServicesOptions = {}) {
  return appOn(t, await testDatabase(t), options);
}

/** The whole client-facing app on the given test database (eachEngine gives one per engine). */
export async function appOn(t: Test, db: Database, options: AccountServicesOptions = {}) {
  const services = accountServices(db, options);
  const app = await buildApp({
    log: silentLogger(),
    version: '0.0.0',
    maxJsonBodyBytes: 65536,
    trustProxy: false,
    serverName: TEST_SERVER_NAME,
    accounts: services.accounts,
    rooms: clientRooms(db, services.clock, memberProfileLookup(createUserDataStore(db.sql))),
    ...userDataDeps(db, services.clock),
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
