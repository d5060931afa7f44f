import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { ResolvedConfig } from './platform/config/index.js';
import type { Clock, Random } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { loadOrCreateSigningKey } from './platform/signing-key-file.js';
import { createMemoryBus, createRedisBus, type Bus } from './platform/bus.js';
import { createServerKeysService } from './federation/index.js';
import { createAccountsStore, createInstanceRepository, createRoomStore, createUserDataStore, migrate, openDatabase, schemaStatus, type Database } from './storage/index.js';
import { createClientRooms, createMemberProfiles, createRoomServer, type RoomServer } from './rooms/index.js';
import { roomNotifierOnBus } from './platform/stream-notices.js';
import {
  createAccountDataService,
  createAccountService,
  createFilterService,
  createProfileService,
  createScryptHasher,
  createSharedSecretRegistration,
  createUia,
  memberProfileLookup,
} from './users/index.js';
import { DEFAULT_ROOM_VERSION } from './events/index.js';
import { parseServerName } from './protocol/index.js';

/**
 * The wiring: this file builds the adapters, the services and the app from a configuration and is the
 * only place that does. main.ts calls it for `hearth start`; end-to-end tests call it to run a real
 * server in-process.
 */

export interface ServerDeps {
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly version: string;
}

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly database: Database;
  readonly rooms: RoomServer;
  /** What was created on this start, to tell the person running Hearth where it is. */
  readonly firstStartNotes: readonly string[];
  close(): Promise<void>;
}

export interface Storage {
  readonly database: Database;
  status(): Promise<{ current: number; latest: number }>;
  close(): Promise<void>;
}

export async function openStorage(config: ResolvedConfig, log: Logger, options: { migrate: boolean }): Promise<Storage> {
  const database = await openDatabase({
    url: config.database.url,
    dataDir: path.join(config.data_dir, 'db'),
    poolSize: config.database.pool_size,
    log,
  });
  try {
    if (options.migrate) await migrate(database.sql, { log });
  } catch (err) {
    await database.close();
    throw err;
  }
  return {
    database,
    status: () => schemaStatus(database.sql),
    close: () => database.close(),
  };
}

export async function startServer(config: ResolvedConfig, deps: ServerDeps): Promise<RunningServer> {
  const { log } = deps;
  const notes: string[] = [];
  const dataDirExisted = await exists(config.data_dir);
  await mkdir(config.data_dir, { recursive: true, mode: 0o700 });
  if (!dataDirExisted) notes.push(`First start: created the data folder ${config.data_dir}`);

  const { key, created } = await loadOrCreateSigningKey(config.signing_key_path, deps.random);
  if (created) notes.push(`First start: created the signing key ${config.signing_key_path} (${key.keyId}); back it up`);

  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => log.error({ err }, 'close failed'));
  };
  try {
    const storage = await openStorage(config, log, { migrate: true });
    closers.push(() => storage.close());
    await createInstanceRepository(storage.database.sql).claimServerName(config.server_name, deps.clock.now());

    const bus: Bus = config.redis.url
      ? await createRedisBus({ url: config.redis.url, log, keyPrefix: config.redis.key_prefix })
      : createMemoryBus({ log });
    closers.push(() => bus.close());

    const roomStore = createRoomStore(storage.database.sql);
    const userData = createUserDataStore(storage.database.sql);
    const rooms = createRoomServer({
      store: roomStore,
      notifier: roomNotifierOnBus(bus, log),
      log,
      clock: deps.clock,
      random: deps.random,
      serverName: config.server_name,
      signingKey: key,
      memberProfile: memberProfileLookup(userData),
    });

    const serverName = parseServerName(config.server_name);
    const accountsStore = createAccountsStore(storage.database.sql);
    const accounts = createAccountService({
      store: accountsStore,
      uia: createUia({ store: accountsStore, clock: deps.clock, random: deps.random }),
      passwords: createScryptHasher({ random: deps.random }),
      clock: deps.clock,
      random: deps.random,
      serverName,
      enableRegistration: config.enable_registration,
    });
    const sharedSecretRegistration = createSharedSecretRegistration({
      nonces: accountsStore,
      accounts,
      clock: deps.clock,
      random: deps.random,
      secret: config.registration_shared_secret,
    });

    const profiles = createProfileService({
      store: userData,
      rooms: createMemberProfiles({ rooms, store: roomStore }),
      log,
      serverName,
    });

    const serverKeys = createServerKeysService({
      serverName: config.server_name,
      signingKey: key,
      oldVerifyKeys: config.old_signing_keys,
      validForMs: config.key_valid_for_ms,
      clock: deps.clock,
    });

    const app = await buildApp({
      log,
      version: deps.version,
      serverName,
      accounts,
      profiles,
      accountData: createAccountDataService({ store: userData }),
      filters: createFilterService({ store: userData }),
      defaultRoomVersion: DEFAULT_ROOM_VERSION,
      rooms: createClientRooms({ rooms, store: roomStore, clock: deps.clock, serverName: config.server_name }),
      sharedSecretRegistration,
      serverKeys,
      wellKnown: {
        clientBaseUrl: config.well_known.client_base_url ?? config.public_baseurl,
        clientExtra: config.well_known.client_extra,
        server: config.well_known.server,
      },
      maxJsonBodyBytes: config.http.max_json_body_bytes,
      trustProxy: config.http.trust_proxy,
      tls: config.listen.tls && {
        cert: await readFile(config.listen.tls.cert_file),
        key: await readFile(config.listen.tls.key_file),
      },
    });
    closers.push(() => app.close());
    const address = await app.listen({ host: config.listen.host, port: config.listen.port });
    log.info({ address, serverName: config.server_name, engine: storage.database.engine }, 'listening');
    return {
      url: address,
      app,
      database: storage.database,
      rooms,
      firstStartNotes: notes,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
