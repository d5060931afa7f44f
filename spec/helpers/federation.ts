import type { Test } from 'tap';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHttpApp } from '../../src/api/plumbing/http-app.js';
import { federationEventRoutes } from '../../src/api/federation/events.js';
import { federationQueryRoutes } from '../../src/api/federation/query.js';
import { federationKeyRoutes } from '../../src/api/federation/user-keys.js';
import { createFederationKeys, createKeysService } from '../../src/e2ee/index.js';
import { authEventsSelection, buildEvent, getRoomVersion, type EventDraft, type RoomEvent, type StateMap } from '../../src/events/index.js';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createFederationReads, createRoomDirectory, type RoomStore } from '../../src/rooms/index.js';
import { createDeviceListPositions, createDirectoryStore, createKeysStore, createRoomStore, createUserDataStore, type Database } from '../../src/storage/index.js';
import { createFederationProfiles, createProfileService } from '../../src/users/index.js';
import { MatrixError } from '../../src/protocol/index.js';
import { LOCAL, REMOTE, remoteKey } from './rooms.js';

/**
 * Federation API tests without X-Matrix: a tiny hook stands in for the signature check
 * (src/api/federation/auth.ts, tested on its own) and takes the requesting server's name from a test
 * header; a request without it is refused as an unsigned one is.
 */

export const ORIGIN_HEADER = 'x-test-origin';

/** Sets request.federationOrigin from the test header, as the X-Matrix check sets it from a signed request. */
export async function originFromTestHeader(request: FastifyRequest): Promise<void> {
  const origin = request.headers[ORIGIN_HEADER];
  if (typeof origin !== 'string' || origin === '') throw new MatrixError('M_UNAUTHORIZED', 'test request without an origin header');
  request.federationOrigin = origin;
}

/** What installFederationAuth does for route(), with the test header in place of X-Matrix. */
export function installTestFederationOrigin(app: FastifyInstance): void {
  app.decorateRequest('federationOrigin', '');
  app.addHook('preValidation', originFromTestHeader);
}

/** The federation read endpoints (rooms, queries, keys) on a test database, called as `origin` via the header. */
export async function federationReadsApp(t: Test, db: Database, appServiceAlias?: (alias: string) => Promise<boolean>): Promise<FastifyInstance> {
  const clock = fixedClock(1_700_000_500_000);
  const log = silentLogger();
  const store = createRoomStore(db.sql);
  const directory = createDirectoryStore(db.sql);
  const userData = createUserDataStore(db.sql);
  const reads = createFederationReads({ store, aliases: directory, serverName: LOCAL, ...(appServiceAlias ? { appServiceAlias } : {}) });
  const profiles = createProfileService({
    store: userData,
    rooms: { joinedRooms: async () => [], refreshMemberProfile: async () => undefined },
    log,
    serverName: LOCAL as never,
  });
  const keys = createKeysService({ store: createKeysStore(db.sql), log, serverName: LOCAL, joinedRooms: async () => [], notify: () => undefined });
  const app = await createHttpApp({ log, maxJsonBodyBytes: 65536, trustProxy: false }, async (app) => {
    installTestFederationOrigin(app);
    await app.register(federationEventRoutes({ reads, serverName: LOCAL, clock }));
    await app.register(federationQueryRoutes({
      reads,
      profiles: createFederationProfiles({ profiles, serverName: LOCAL }),
      directory: createRoomDirectory({ directory, store, isServerAdmin: async () => false, serverName: LOCAL, clock }),
    }));
    await app.register(federationKeyRoutes(createFederationKeys({ keys, positions: createDeviceListPositions(db.sql), serverName: LOCAL })));
  });
  t.teardown(() => app.close());
  return app;
}

/** Builds an event as the remote server would: on the given prev events, with auth events from `state`. */
export async function remoteEvent(
  store: RoomStore,
  roomId: string,
  draft: EventDraft,
  prevIds: readonly string[],
  state: StateMap,
  roomVersion = '10',
): Promise<RoomEvent> {
  const rules = getRoomVersion(roomVersion);
  if (!rules) throw new Error(`unknown room version ${roomVersion}`);
  const prev = await store.events(prevIds);
  const authIds = authEventsSelection({ ...draft, stateKey: draft.stateKey }, rules)
    .map((key) => state.get(key))
    .filter((id): id is string => id !== undefined);
  const auth = await store.events(authIds);
  return buildEvent(draft, {
    rules,
    roomId,
    origin: REMOTE,
    key: remoteKey,
    now: 1_700_000_100_000,
    prevEvents: prevIds.map((id) => prev.get(id)!.event),
    authEvents: authIds.map((id) => auth.get(id)!.event),
  });
}
