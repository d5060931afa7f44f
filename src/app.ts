import type { FastifyInstance } from 'fastify';
import type { ServerKeysService } from './federation/index.js';
import type { ServerName } from './protocol/index.js';
import type { AdminRooms, ClientRooms, MutualRooms } from './rooms/index.js';
import type { AccountDataService, AccountService, FilterService, ProfileService, SharedSecretRegistration } from './users/index.js';
import { createHttpApp, type HttpAppOptions } from './api/plumbing/http-app.js';
import type { Authenticator } from './api/plumbing/auth.js';
import type { AppServiceAuth } from './appservice/index.js';
import { versionsRoutes } from './api/client/versions.js';
import { accountRoutes } from './api/client/accounts.js';
import { loginFallbackRoutes } from './api/client/login-fallback.js';
import { ssoRoutes } from './api/client/sso.js';
import { accountModerationRoutes } from './api/client/account-moderation.js';
import { uiaFallbackRoutes } from './api/client/uia-fallback.js';
import { deviceRoutes } from './api/client/devices.js';
import { accountManagementRoutes } from './api/client/account-management.js';
import { threepidRoutes } from './api/client/threepids.js';
import { adminUserRoutes } from './api/admin/users.js';
import { adminMediaRoutes } from './api/admin/media.js';
import { adminRoomRoutes } from './api/admin/rooms.js';
import { mutualRoomsRoutes } from './api/client/mutual-rooms.js';
import { loginTokenRoutes } from './api/client/login-tokens.js';
import type { AccountManagement, AccountModeration, AccountThreepids, AdminUsers, ThreepidBindings, DeviceService, LoginTokens, RegistrationTokens, Sso, UiaFallback } from './users/index.js';
import { registrationTokenRoutes } from './api/admin/registration-tokens.js';
import { profileRoutes } from './api/client/profile.js';
import { accountDataRoutes } from './api/client/account-data.js';
import { filterRoutes } from './api/client/filters.js';
import { capabilitiesRoutes } from './api/client/capabilities.js';
import { roomRoutes } from './api/client/rooms.js';
import { thirdPartyInviteRoutes } from './api/federation/third-party-invites.js';
import { syncRoutes } from './api/client/sync.js';
import { peekRoutes } from './api/client/peeks.js';
import type { LegacySync, NotificationsList, SyncService } from './sync/index.js';
import { notificationRoutes } from './api/client/notifications.js';
import { legacyRoutes } from './api/client/legacy.js';
import { typingRoutes } from './api/client/typing.js';
import { receiptRoutes } from './api/client/receipts.js';
import { toDeviceRoutes } from './api/client/to-device.js';
import { presenceRoutes } from './api/client/presence.js';
import type { PresenceService, ReceiptService, TypingService } from './ephemeral/index.js';
import type { ToDeviceService } from './e2ee/index.js';
import { sharedSecretRegisterRoutes } from './api/admin/shared-secret-register.js';
import { federationVersionRoutes } from './api/federation/version.js';
import { serverKeyRoutes } from './api/keys/server.js';
import { wellKnownRoutes, type WellKnownOptions } from './api/well-known.js';
import { directoryRoutes } from './api/client/directory.js';
import { tagRoutes } from './api/client/tags.js';
import { reportRoutes } from './api/client/reports.js';
import { userDirectoryRoutes } from './api/client/user-directory.js';
import { eventReportRoutes } from './api/admin/event-reports.js';
import type { AliasService, RoomDirectory } from './rooms/index.js';
import type { TagService, UserDirectory } from './users/index.js';
import type { ReportService } from './moderation/index.js';
import { pushRuleRoutes } from './api/client/push-rules.js';
import type { PushRulesService } from './push/index.js';
import { searchRoutes } from './api/client/search.js';
import { pusherRoutes } from './api/client/pushers.js';
import { openIdRoutes } from './api/client/openid.js';
import { openIdUserInfoRoutes } from './api/federation/openid.js';
import { whoisRoutes } from './api/client/admin-whois.js';
import type { PusherService } from './push/index.js';
import type { OpenIdTokens, WhoisService } from './users/index.js';
import type { SearchService } from './search/index.js';
import { keyBackupRoutes } from './api/client/key-backup.js';
import type { CrossSigning, KeyBackupService, KeysService } from './e2ee/index.js';
import { e2eeKeyRoutes } from './api/client/e2ee-keys.js';
import { dehydratedDeviceRoutes } from './api/client/dehydrated-devices.js';
import type { DehydratedDevices } from './e2ee/index.js';
import type { Keyring } from './federation/index.js';
import type { Clock } from './platform/clock.js';
import { installFederationAuth } from './api/federation/auth.js';
import { keyQueryRoutes } from './api/keys/query.js';
import { federationEventRoutes } from './api/federation/events.js';
import { federationQueryRoutes } from './api/federation/query.js';
import { federationKeyRoutes } from './api/federation/user-keys.js';
import { federationMembershipRoutes } from './api/federation/membership.js';
import type { FederationMembership, RoomPeeks, ThirdPartyInvites } from './rooms/index.js';
import { federationSendRoutes } from './api/federation/send.js';
import type { TransactionReceiver } from './federation/index.js';
import type { FederationReads } from './rooms/index.js';
import type { FederationProfiles } from './users/index.js';
import type { FederationKeys } from './e2ee/index.js';
import { federationMediaRoutes, mediaRoutes } from './api/media/routes.js';
import { hierarchyRoutes } from './api/client/hierarchy.js';
import { federationHierarchyRoutes } from './api/federation/hierarchy.js';
import type { SpaceHierarchy } from './rooms/index.js';
import type { MediaQuarantine, MediaService, UrlPreviewService } from './media/index.js';

export interface AppDeps extends Omit<HttpAppOptions, 'authenticator'> {
  readonly version: string;
  readonly serverName: ServerName;
  readonly accounts: AccountService;
  readonly devices: DeviceService;
  readonly accountManagement: AccountManagement;
  /** The account's email addresses and their bindings at identity servers; left out by tests that do not need them. */
  readonly threepids?: { readonly bindings: ThreepidBindings; readonly account: AccountThreepids };
  /** POST /login/get_token; left out when login_via_existing_session is off. */
  readonly loginTokens?: LoginTokens;
  /** GET /_matrix/client/v1/mutual_rooms; left out by tests that do not need it. */
  readonly mutualRooms?: MutualRooms;
  /** Synapse's admin API for rooms (list, details, members, blocking); left out by tests that do not need it. */
  readonly adminRooms?: AdminRooms;
  /** Locking and suspending accounts (/admin/lock, /admin/suspend); left out by tests that do not need it. */
  readonly accountModeration?: AccountModeration;
  /** Single sign-on's redirects, pages and callbacks; left out when no provider is configured. */
  readonly sso?: { readonly service: Sso; readonly secureCookie: boolean };
  readonly registrationTokens: RegistrationTokens;
  readonly profiles: ProfileService;
  readonly accountData: AccountDataService;
  readonly filters: FilterService;
  /** The version new rooms get when the client names none (GET /capabilities tells clients). */
  readonly defaultRoomVersion: string;
  readonly rooms: ClientRooms;
  readonly sync: SyncService;
  /** GET /events, /initialSync, /rooms/{roomId}/initialSync (deprecated v1 forms); left out by tests that do not need them. */
  readonly legacy?: LegacySync;
  /** Typing, receipts and read markers, send-to-device, presence; left out by tests that do not need them. */
  readonly typing?: TypingService;
  readonly receipts?: ReceiptService;
  readonly toDevice?: ToDeviceService;
  readonly presence?: PresenceService;
  readonly sharedSecretRegistration: SharedSecretRegistration;
  readonly serverKeys: ServerKeysService;
  readonly wellKnown: WellKnownOptions;
  readonly aliases: AliasService;
  readonly roomDirectory: RoomDirectory;
  readonly tags: TagService;
  readonly reports: ReportService;
  readonly userDirectory: UserDirectory;
  /** Push rules (GET/PUT /pushrules/...); left out by tests that do not need them. */
  readonly pushRules?: PushRulesService;
  /** Server-side search (POST /search); left out by tests that do not need it. */
  readonly search?: SearchService;
  /** GET /_synapse/admin/v2/users/{userId}; left out by tests that do not need it. */
  readonly adminUsers?: AdminUsers;
  /** The user-interactive auth fallback pages; left out by tests that do not need them. */
  readonly uiaFallback?: UiaFallback;
  /** GET /notifications; left out by tests that do not need it. */
  readonly notifications?: NotificationsList;
  /** GET /pushers, POST /pushers/set; left out by tests that do not need them. */
  readonly pushers?: PusherService;
  /** OpenID tokens (client request_token, federation userinfo); left out by tests that do not need them. */
  readonly openId?: OpenIdTokens;
  /** GET /admin/whois/{userId}; left out by tests that do not need it. */
  readonly whois?: WhoisService;
  /** Server-side key backups (/room_keys/version, /room_keys/keys); left out by tests that do not need them. */
  readonly keyBackup?: KeyBackupService;
  /** The key management API (/keys/upload, query, claim, changes, cross-signing); left out by tests that do not need it. */
  readonly e2eeKeys?: { readonly keys: KeysService; readonly crossSigning: CrossSigning };
  /** Dehydrated devices (MSC3814, /unstable/org.matrix.msc3814.v1/dehydrated_device); left out by tests that do not need them. */
  readonly dehydratedDevices?: DehydratedDevices;
  /**
   * Federation: the keyring checks X-Matrix signatures on /_matrix/federation/ and answers notary key
   * queries. Left out (tests that do not need it), every signed federation request is refused.
   */
  readonly federation?: { readonly keyring: Keyring; readonly clock: Clock };
  /**
   * What other servers read (/event, /state, /state_ids, /event_auth, /backfill, /get_missing_events,
   * /timestamp_to_event, /query/directory, /query/profile, /publicRooms, /user/devices, /user/keys/query
   * and /claim); left out by tests that do not need them.
   */
  readonly federationReads?: {
    readonly rooms: FederationReads;
    readonly profiles: FederationProfiles;
    readonly keys: FederationKeys;
    readonly clock: Clock;
  };
  /** make_/send_ join, leave, knock and invites, as the resident (or invited) server; left out by tests that do not need them. */
  readonly federationMembership?: FederationMembership;
  /** Inviting email addresses through identity servers; left out by tests that do not need it. */
  readonly thirdPartyInvites?: ThirdPartyInvites;
  /** Peeking into world_readable rooms (MSC2753); left out by tests that do not need it. */
  readonly peeks?: RoomPeeks;
  /**
   * The content repository (uploads, downloads, thumbnails, and the federation media endpoints);
   * `boundary` makes the multipart boundaries of federation answers. Left out by tests that do not need it.
   */
  readonly media?: {
    readonly service: MediaService;
    readonly serveUnauthenticated: boolean;
    readonly boundary: () => string;
    /** URL previews; absent or null: turned off. */
    readonly previews?: UrlPreviewService | null;
    /** The admin API's quarantine; absent: not offered. */
    readonly quarantine?: MediaQuarantine;
  };
  /** The space hierarchy, for clients and other servers; left out by tests that do not need it. */
  readonly hierarchy?: SpaceHierarchy;
  /**
   * Application services (bridges): their as_tokens authenticate, and their client-server extensions
   * (ping, third-party lookups, their room directories) are served. Left out when none is configured.
   */
  readonly appServices?: {
    readonly auth: AppServiceAuth;
    /** Their client-server extensions (ping, third-party lookups, their room directories). */
    readonly routes: readonly ((app: FastifyInstance) => Promise<void>)[];
  };
  /** Inbound transactions (PUT /_matrix/federation/v1/send/{txnId}); left out by tests that do not need them. */
  readonly federationTransactions?: TransactionReceiver;
  /**
   * The third-party lookups (/thirdparty/...), answered from the bridges' protocols: served with no
   * bridge too (no protocols), as clients ask at start-up. Left out by tests that do not need them.
   */
  readonly thirdParty?: (app: FastifyInstance) => Promise<void>;
}

/** The Fastify app with every API mounted. server.ts listens with it; tests drive it with inject(). */
export function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const appServiceAuth = deps.appServices?.auth;
  // An application service's as_token is looked for first (a hash lookup), then users' tokens.
  const authenticator: Authenticator = appServiceAuth === undefined
    ? (token, client) => deps.accounts.authenticate(token, client)
    : async (token, client) => (await appServiceAuth.authenticate(token, client.actAs)) ?? deps.accounts.authenticate(token, client);
  return createHttpApp({ ...deps, authenticator, appServiceAuthenticator: appServiceAuth ? (token, actAs) => appServiceAuth.authenticate(token, actAs) : null }, async (app) => {
    // Before any route: the X-Matrix hook covers every /_matrix/federation/ route registered after it.
    installFederationAuth(app, deps.federation ? { serverName: deps.serverName, keys: deps.federation.keyring, clock: deps.federation.clock } : null);
    if (deps.federation) await app.register(keyQueryRoutes(deps.federation.keyring));
    await app.register(versionsRoutes);
    await app.register(accountRoutes(deps.accounts));
    await app.register(loginFallbackRoutes(deps.serverName));
    if (deps.uiaFallback) await app.register(uiaFallbackRoutes(deps.uiaFallback));
    if (deps.sso) await app.register(ssoRoutes(deps.sso.service, { secureCookie: deps.sso.secureCookie }));
    await app.register(deviceRoutes(deps.devices));
    await app.register(accountManagementRoutes(deps.accountManagement, deps.threepids ?? null));
    if (deps.threepids) {
      await app.register(threepidRoutes({ ...deps.threepids, management: deps.accountManagement, serverName: deps.serverName }));
    }
    await app.register(adminUserRoutes(deps.accountManagement, deps.adminUsers, deps.threepids ?? null));
    if (deps.adminRooms) await app.register(adminRoomRoutes(deps.adminRooms));
    if (deps.mutualRooms) await app.register(mutualRoomsRoutes(deps.mutualRooms));
    if (deps.loginTokens) await app.register(loginTokenRoutes(deps.loginTokens));
    await app.register(registrationTokenRoutes(deps.registrationTokens));
    await app.register(profileRoutes(deps.profiles));
    await app.register(accountDataRoutes(deps.accountData));
    await app.register(filterRoutes(deps.filters));
    await app.register(
      capabilitiesRoutes({
        defaultRoomVersion: deps.defaultRoomVersion,
        getLoginToken: deps.loginTokens !== undefined,
        threepidChanges: deps.threepids?.account.enabled === true,
        ...(deps.accountModeration ? { isServerAdmin: deps.accountModeration.isServerAdmin } : {}),
      }),
    );
    await app.register(roomRoutes(deps.rooms, deps.thirdPartyInvites ?? null));
    await app.register(syncRoutes(deps.sync));
    if (deps.peeks) await app.register(peekRoutes(deps.peeks));
    if (deps.legacy) await app.register(legacyRoutes(deps.legacy));
    if (deps.typing) await app.register(typingRoutes(deps.typing));
    if (deps.receipts) await app.register(receiptRoutes(deps.receipts));
    if (deps.toDevice) await app.register(toDeviceRoutes(deps.toDevice));
    if (deps.presence) await app.register(presenceRoutes(deps.presence));
    await app.register(sharedSecretRegisterRoutes(deps.sharedSecretRegistration, deps.serverName));
    await app.register(federationVersionRoutes(deps.version));
    await app.register(serverKeyRoutes(deps.serverKeys));
    await app.register(wellKnownRoutes(deps.wellKnown));
    await app.register(directoryRoutes(deps.aliases, deps.roomDirectory));
    await app.register(tagRoutes(deps.tags));
    await app.register(reportRoutes(deps.reports));
    await app.register(userDirectoryRoutes(deps.userDirectory));
    if (deps.pushRules) await app.register(pushRuleRoutes(deps.pushRules));
    if (deps.search) await app.register(searchRoutes(deps.search));
    if (deps.pushers) await app.register(pusherRoutes(deps.pushers));
    if (deps.notifications) await app.register(notificationRoutes(deps.notifications));
    if (deps.openId) {
      await app.register(openIdRoutes(deps.openId));
      await app.register(openIdUserInfoRoutes(deps.openId));
    }
    if (deps.whois) await app.register(whoisRoutes(deps.whois));
    if (deps.accountModeration) await app.register(accountModerationRoutes(deps.accountModeration));
    if (deps.keyBackup) await app.register(keyBackupRoutes(deps.keyBackup));
    if (deps.e2eeKeys) await app.register(e2eeKeyRoutes(deps.e2eeKeys.keys, deps.e2eeKeys.crossSigning, deps.sync));
    if (deps.dehydratedDevices) await app.register(dehydratedDeviceRoutes(deps.dehydratedDevices));
    await app.register(eventReportRoutes(deps.reports));
    if (deps.federationReads) {
      const reads = deps.federationReads;
      await app.register(federationEventRoutes({ reads: reads.rooms, serverName: deps.serverName, clock: reads.clock }));
      await app.register(federationQueryRoutes({ reads: reads.rooms, profiles: reads.profiles, directory: deps.roomDirectory }));
      await app.register(federationKeyRoutes(reads.keys));
    }
    if (deps.federationMembership) await app.register(federationMembershipRoutes(deps.federationMembership, deps.serverName));
    if (deps.thirdPartyInvites) await app.register(thirdPartyInviteRoutes(deps.thirdPartyInvites));
    for (const routes of deps.appServices?.routes ?? []) await app.register(routes);
    if (deps.thirdParty) await app.register(deps.thirdParty);
    if (deps.federationTransactions) await app.register(federationSendRoutes(deps.federationTransactions));
    if (deps.hierarchy) {
      await app.register(hierarchyRoutes(deps.hierarchy));
      await app.register(federationHierarchyRoutes(deps.hierarchy));
    }
    if (deps.media) {
      await app.register(mediaRoutes(deps.media.service, { serveUnauthenticated: deps.media.serveUnauthenticated, previews: deps.media.previews ?? null }));
      await app.register(federationMediaRoutes(deps.media.service, deps.serverName, deps.media.boundary));
      if (deps.media.quarantine) await app.register(adminMediaRoutes(deps.media.quarantine));
    }
  });
}
