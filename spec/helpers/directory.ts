import type { TestWiring } from './user-data.js';
import { fixedClock, systemRandom, type Clock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { isUserId } from '../../src/protocol/index.js';
import { createReportService } from '../../src/moderation/index.js';
import { createAliasService, createRoomDirectory, createRoomServer } from '../../src/rooms/index.js';
import {
  createAccountsStore,
  createDirectoryStore,
  createReportStore,
  createRoomStore,
  createUserDataStore,
  createUserDirectoryStore,
  type Database,
} from '../../src/storage/index.js';
import { createTagService, createUserDirectory } from '../../src/users/index.js';
import { LOCAL, localKey } from './rooms.js';

/**
 * Aliases, the room directory, tags, reports and the user directory on a test database, wired as
 * server.ts does; spread into buildApp's deps. The alias service's room server (for canonical alias
 * updates) shares the database, so its writes serialise with the app's through the room write lock.
 */
export function directoryDeps(db: Database, clock: Clock = fixedClock(1_700_000_000_000), wiring: TestWiring = {}) {
  const roomStore = createRoomStore(db.sql);
  const directoryStore = createDirectoryStore(db.sql);
  const accounts = createAccountsStore(db.sql);
  const log = silentLogger();
  const isServerAdmin = async (userId: string) => isUserId(userId) && (await accounts.user(userId))?.admin === true;
  const rooms = createRoomServer({
    store: roomStore,
    notifier: wiring.roomNotifier ?? { eventsPersisted: () => undefined },
    log,
    clock,
    random: systemRandom,
    serverName: LOCAL,
    signingKey: localKey,
  });
  return {
    aliases: createAliasService({ aliases: directoryStore, store: roomStore, rooms, isServerAdmin, serverName: LOCAL, clock, log }),
    roomDirectory: createRoomDirectory({ directory: directoryStore, store: roomStore, isServerAdmin, serverName: LOCAL, clock }),
    tags: createTagService({ store: wiring.userData ?? createUserDataStore(db.sql) }),
    reports: createReportService({
      store: createReportStore(db.sql),
      rooms: roomStore,
      localUserExists: async (userId) => (await accounts.user(userId)) !== undefined,
      isServerAdmin,
      serverName: LOCAL,
      clock,
      log,
    }),
    userDirectory: createUserDirectory({ store: createUserDirectoryStore(db.sql) }),
  };
}
