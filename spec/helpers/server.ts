import type { Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/platform/config/index.js';
import { systemClock, systemRandom } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { embeddedSeed, testPostgresUrl, type Engine } from './database.js';

/**
 * A real Hearth, in this process, listening on a free loopback port: the whole wiring of server.ts on a
 * fresh data folder and a fresh database of the given engine. Stopped and removed when the test ends.
 */
export async function startTestServer(t: Test, engine: Engine, extraConfig = ''): Promise<RunningServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearth-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const databaseUrl = engine === 'postgres' ? await testPostgresUrl(t) : null;
  const config = parseConfig(
    [
      'server_name: hearth.test',
      // A test that needs to know its URL before the start (public_baseurl) picks the port itself.
      ...(/^listen:/m.test(extraConfig) ? [] : ['listen: { host: 127.0.0.1, port: 0 }']),
      'enable_registration: true',
      // Tests send in bursts; one that tests the limits sets rate_limits itself.
      ...(extraConfig.includes('rate_limits') ? [] : ['rate_limits: { enabled: false }']),
      // Small pools: two test files run at once, each may start two servers, on one PostgreSQL.
      ...(databaseUrl ? [`database: { url: "${databaseUrl}", pool_size: 10 }`] : []),
      extraConfig,
    ].join('\n'),
    { source: 'test config', baseDir: dir },
  );
  const server = await startServer(config, {
    log: silentLogger(),
    clock: systemClock,
    random: systemRandom,
    version: '0.0.0-test',
    // The migrated copy the storage tests start from: no initdb for each server.
    ...(engine === 'embedded' ? { embeddedSeed: await embeddedSeed() } : {}),
  });
  t.teardown(() => server.close());
  return server;
}

/** A port that was free a moment ago (the server listens on it next; a clash fails loudly). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
