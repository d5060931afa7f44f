import type { FastifyInstance } from 'fastify';
import type { ServerKeysService } from './federation/index.js';
import type { ServerName } from './protocol/index.js';
import type { ClientRooms } from './rooms/index.js';
import type { AccountDataService, AccountService, FilterService, ProfileService, SharedSecretRegistration } from './users/index.js';
import { createHttpApp, type HttpAppOptions } from './api/plumbing/http-app.js';
import { versionsRoutes } from './api/client/versions.js';
import { accountRoutes } from './api/client/accounts.js';
import { profileRoutes } from './api/client/profile.js';
import { accountDataRoutes } from './api/client/account-data.js';
import { filterRoutes } from './api/client/filters.js';
import { capabilitiesRoutes } from './api/client/capabilities.js';
import { roomRoutes } from './api/client/rooms.js';
import { sharedSecretRegisterRoutes } from './api/admin/shared-secret-register.js';
import { federationVersionRoutes } from './api/federation/version.js';
import { serverKeyRoutes } from './api/keys/server.js';
import { wellKnownRoutes, type WellKnownOptions } from './api/well-known.js';

export interface AppDeps extends Omit<HttpAppOptions, 'authenticator'> {
  readonly version: string;
  readonly serverName: ServerName;
  readonly accounts: AccountService;
  readonly profiles: ProfileService;
  readonly accountData: AccountDataService;
  readonly filters: FilterService;
  /** The version new rooms get when the client names none (GET /capabilities tells clients). */
  readonly defaultRoomVersion: string;
  readonly rooms: ClientRooms;
  readonly sharedSecretRegistration: SharedSecretRegistration;
  readonly serverKeys: ServerKeysService;
  readonly wellKnown: WellKnownOptions;
}

/** The Fastify app with every API mounted. server.ts listens with it; tests drive it with inject(). */
export function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  return createHttpApp({ ...deps, authenticator: (token) => deps.accounts.authenticate(token) }, async (app) => {
    await app.register(versionsRoutes);
    await app.register(accountRoutes(deps.accounts));
    await app.register(profileRoutes(deps.profiles));
    await app.register(accountDataRoutes(deps.accountData));
    await app.register(filterRoutes(deps.filters));
    await app.register(capabilitiesRoutes({ defaultRoomVersion: deps.defaultRoomVersion }));
    await app.register(roomRoutes(deps.rooms));
    await app.register(sharedSecretRegisterRoutes(deps.sharedSecretRegistration, deps.serverName));
    await app.register(federationVersionRoutes(deps.version));
    await app.register(serverKeyRoutes(deps.serverKeys));
    await app.register(wellKnownRoutes(deps.wellKnown));
  });
}
