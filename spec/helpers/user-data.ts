import { DEFAULT_ROOM_VERSION } from '../../src/events/index.js';
import { fixedClock, systemRandom, type Clock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMemberProfiles, createRoomServer, type RoomNotifier } from '../../src/rooms/index.js';
import { createRoomStore, createUserDataStore, type Database } from '../../src/storage/index.js';
import {
  createAccountDataService,
  createFilterService,
  createProfileService,
  memberProfileLookup,
} from '../../src/users/index.js';
import { TEST_SERVER_NAME } from './accounts.js';
import { LOCAL, localKey } from './rooms.js';

/**
 * How a whole test app joins its parts up, as server.ts does: one user-data store that announces its
 * writes, and room servers that announce their events (waiting syncs wake on both). Absent: silent.
 */
export interface TestWiring {
  readonly userData?: ReturnType<typeof createUserDataStore>;
  readonly roomNotifier?: RoomNotifier;
}

/**
 * Profiles, account data and filters on a test database, wired as server.ts does; spread into buildApp's
 * deps. Profile changes reach rooms through a room server of their own on the same database (the room
 * write lock lives in the database, so it serialises with the app's room server).
 */
export function userDataDeps(db: Database, clock: Clock = fixedClock(1_700_000_000_000), wiring: TestWiring = {}) {
  const store = wiring.userData ?? createUserDataStore(db.sql);
  const roomStore = createRoomStore(db.sql);
  const memberProfile = memberProfileLookup(store);
  const rooms = createRoomServer({
    store: roomStore,
    notifier: wiring.roomNotifier ?? { eventsPersisted: () => undefined },
    log: silentLogger(),
    clock,
    random: systemRandom,
    serverName: LOCAL,
    signingKey: localKey,
    memberProfile,
  });
  return {
    profiles: createProfileService({
      store,
      rooms: createMemberProfiles({ rooms, store: roomStore }),
      log: silentLogger(),
      serverName: TEST_SERVER_NAME,
    }),
    accountData: createAccountDataService({ store }),
    filters: createFilterService({ store }),
    defaultRoomVersion: DEFAULT_ROOM_VERSION,
  };
}
