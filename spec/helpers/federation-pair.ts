import type { Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/platform/config/index.js';
import { systemClock, systemRandom } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { testCertificate } from '../federation/helpers.js';
import { embeddedSeed, testPostgresUrl, type Engine } from './database.js';
import { freePort } from './server.js';

/**
 * Two real Hearths in this process that federate with each other over loopback HTTPS: each named
 * `127.0.0.1:PORT` (an IP literal with a port needs no DNS or well-known), serving the client and the
 * federation API on one TLS listener with a throwaway certificate that both trust. Clients reach them
 * through app.inject(); the servers reach each other over real sockets, signed and checked as in production.
 */

export interface FederatedServer extends RunningServer {
  readonly serverName: string;
  /**
   * Starts this server again on the same port, data folder and database (close it first): a restart, as an
   * operator makes one. The answer is the new process's server; this object stays closed.
   */
  restart(): Promise<FederatedServer>;
}

/** One federating server; `extraConfig` is appended YAML (it must not repeat the keys set here). */
export async function startFederatedServer(t: Test, engine: Engine = 'embedded', extraConfig = ''): Promise<FederatedServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hearth-fed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { cert, key } = testCertificate();
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await writeFile(certFile, cert);
  await writeFile(keyFile, key, { mode: 0o600 });
  const databaseUrl = engine === 'postgres' ? await testPostgresUrl(t) : null;
  const port = await freePort();
  const serverName = `127.0.0.1:${port}`;
  const config = parseConfig(
    [
      `server_name: "${serverName}"`,
      `public_baseurl: "https://${serverName}/"`,
      `listen: { host: 127.0.0.1, port: ${port}, tls: { cert_file: "${certFile}", key_file: "${keyFile}" } }`,
      'enable_registration: true',
      'rate_limits: { enabled: false }',
      `federation: { ca_files: ["${certFile}"], allow_private_addresses: true }`,
      // Small pools: two test files run at once, each may start two servers, on one PostgreSQL.
      ...(databaseUrl ? [`database: { url: "${databaseUrl}", pool_size: 10 }`] : []),
      extraConfig,
    ].join('\n'),
    { source: 'federation pair config', baseDir: dir },
  );
  const seed = engine === 'embedded' ? await embeddedSeed() : undefined;
  const boot = async (): Promise<FederatedServer> => {
    // The seed only fills a new embedded database: on a restart the data folder's database is opened as it is.
    const server = await startServer(config, {
      log: silentLogger(),
      clock: systemClock,
      random: systemRandom,
      version: '0.0.0-test',
      ...(seed ? { embeddedSeed: seed } : {}),
    });
    t.teardown(() => server.close());
    return Object.assign(server, { serverName, restart: boot });
  };
  return boot();
}

/** Two federating servers, A and B. */
export async function startFederationPair(t: Test, engine: Engine = 'embedded'): Promise<{ a: FederatedServer; b: FederatedServer }> {
  const [a, b] = await Promise.all([startFederatedServer(t, engine), startFederatedServer(t, engine)]);
  return { a, b };
}
