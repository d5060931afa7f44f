import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { ResolvedConfig } from './platform/config/index.js';
import type { Clock, Random } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { loadOrCreateSigningKey } from './platform/signing-key-file.js';
import { createMemoryBus, createRedisBus, type Bus } from './platform/bus.js';
import {
  createServerKeysService,
  createFederationClient,
  createKeyring,
  createServerResolver,
  keyLookupOf,
  connectableAddresses,
  systemDns,
  wellKnownFetcher,
  createEduProducers,
  createFederationSender,
  announceQueuedOnBus,
  electFederationSender,
  federationSenderOnBus,
  createBackfiller,
  createGapFiller,
  createInboundEdus,
  createTransactionReceiver,
} from './federation/index.js';
import {
  createFederationMembership,
  createFederationReads,
  createErasedUsers,
  createRemotePublicRooms,
  createClientRooms,
  createUpgradeCarry,
  createAdminRooms,
  createMutualRooms,
  createThirdPartyInvites,
  createMemberProfiles,
  createGuestAccess,
  createReceivePipeline,
  createRoomServer,
  type RoomServer,
  createAliasService,
  createRemoteMembership,
  type PolicySigner,
  createRoomDirectory,
  createSpaceHierarchy,
  createRoomPeeks,
} from './rooms/index.js';
import {
  createFederationProfiles,
  createRemoteProfiles,
  createTagService,
  createUserDirectory,
  createAccountDataService,
  createAccountManagement,
  createAccountThreepids,
  createThreepidBindings,
  createAccountService,
  createDeviceService,
  createLoginTokens,
  createSso,
  createAccountModeration,
  recaptchaStage,
  type Sso,
  type SsoDeps,
  createRegistrationTokens,
  createFilterService,
  createProfileService,
  createScryptHasher,
  createSharedSecretRegistration,
  createUia,
  createOpenIdTokens,
  createWhois,
  memberProfileLookup,
  withTokenCache,
  blocksInvites,
  defaultProfile,
  createUiaFallback,
  createAdminUsers,
  INVITE_PERMISSION_CONFIG,
  type AccountStore,
} from './users/index.js';
import {
  createAppServiceAuth,
  createAppServiceClient,
  createAppServiceQueries,
  createAppServiceSender,
  createThirdPartyLookups,
  loadAppServices,
  type AppServices,
} from './appservice/index.js';
import { appServiceRoutes } from './api/client/appservice.js';
import { thirdPartyRoutes } from './api/client/thirdparty.js';
import { appServiceDirectoryRoutes } from './api/client/directory.js';
import {
  createFederationKeys,
  createRemoteKeys,
  createCrossSigning,
  createKeysService,
  createToDeviceService,
  createKeyBackupService,
  createDehydratedDevices,
} from './e2ee/index.js';
import {
  createDeviceListPositions,
  previousDeviceListPosition,
  createInboundTransactionStore,
  createLeaderLock,
  createRemoteDeviceListStore,
  FEDERATION_SENDER_LOCK_ID,
  PUSH_SENDER_LOCK_ID,
  createPushSenderStore,
  APPSERVICE_SENDER_LOCK_ID,
  createAppServiceStore,
  createFederationQueueStore,
  createServerKeysStore,
  createRegistrationTokensStore,
  createLoginTokensStore,
  createSsoStore,
  createAdminRoomsStore,
  DEFAULT_EVENT_CACHE_SIZE,
  EventCache,
  StreamWindow,
  createAccountsStore,
  createInstanceRepository,
  createRoomStore,
  createSyncStore,
  createUserDataStore,
  migrate,
  openDatabase,
  schemaStatus,
  type Database,
  createDirectoryStore,
  createReportStore,
  createMediaStore,
  createUrlPreviewStore,
  createThreepidBindingStore,
  createAccountThreepidStore,
  createFileBlobStore,
  createHierarchyStore,
  createUserDirectoryStore,
  createKeyBackupStore,
  createDehydratedDevicesStore,
  createKeysStore,
  createPresenceStore,
  createReceiptsStore,
  createPeekStore,
  createToDeviceStore,
  createSearchStore,
  createOpenIdStore,
  createPushersStore,
} from './storage/index.js';
import { createHttpClient } from './platform/http-client.js';
import { createIdentityServerClient } from './identity/index.js';
import { createMailer } from './platform/smtp.js';
import { createMediaQuarantine, createMediaService, createPreviewFetcher, createRemoteMedia, createUrlPreviewService, imageSize, type UrlPreviewService } from './media/index.js';
import { createReportService } from './moderation/index.js';
import { isUserId, parseServerName, type UserId } from './protocol/index.js';
import {
  EVENTS_CHANNEL,
  PRESENCE_CHANNEL,
  RECEIPTS_CHANNEL,
  TYPING_CHANNEL,
  roomNotifierOnBus,
  streamNotifierOnBus,
  typingRelayOnBus,
} from './platform/stream-notices.js';
import { createPresenceService, createReceiptService, createTypingService, timerScheduler } from './ephemeral/index.js';
import { createPushRulesService, createPusherService, createPushSender, pushActions } from './push/index.js';
import { createRateLimiter, rateLimitRulesFromConfig } from './platform/rate-limit.js';
import { createSearchService } from './search/index.js';
import { accountDataAnnounced, deviceChangesAnnounced, peeksAnnounced, wakeSyncOnBus } from './platform/sync-wakeups.js';
import { tokenRevocationsOnBus } from './platform/token-revocations.js';
import { erasuresOnBus } from './platform/erasures.js';
import { createLegacySync, createNotificationsList, createSyncService, IGNORED_USER_LIST, ignoredUsersOf, SyncNotifier } from './sync/index.js';

/**
 * The wiring: this file builds the adapters, the services and the app from a configuration and is the
 * only place that does. main.ts calls it for `hearth start`; end-to-end tests call it to run a real
 * server in-process.
 */

/** How long one shutdown step may take before the log names it. */
const SLOW_CLOSE_MS = 5_000;
/** How long a room's policy server may take to sign an event before the send (or the received event) fails. */
const POLICY_SIGN_TIMEOUT_MS = 10_000;

export interface ServerDeps {
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly version: string;
  /**
   * A new embedded database starts from this dump of a migrated one instead of initdb and migrations
   * (end-to-end tests: seconds saved per server). Ignored for PostgreSQL and for an existing database.
   */
  readonly embeddedSeed?: Blob;
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

export async function openStorage(config: ResolvedConfig, log: Logger, options: { migrate: boolean; embeddedSeed?: Blob }): Promise<Storage> {
  const database = await openDatabase({
    ...(options.embeddedSeed ? { embeddedSeed: options.embeddedSeed } : {}),
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
  // Before anything opens: a registration that cannot be used stops the start, naming the file.
  const appServices = await loadAppServices(config.app_service_config_files, parseServerName(config.server_name));

  // Closed last-first. A step that takes long is named in the log, so a stuck shutdown says where it is.
  const closers: Array<{ readonly name: string; readonly close: () => Promise<void> }> = [];
  const closeAll = async () => {
    while (closers.length > 0) {
      const { name, close } = closers.pop()!;
      const slow = setTimeout(() => log.warn({ step: name }, 'still closing'), SLOW_CLOSE_MS);
      await close()
        .catch((err: unknown) => log.error({ err, step: name }, 'close failed'))
        .finally(() => clearTimeout(slow));
    }
  };
  try {
    const storage = await openStorage(config, log, { migrate: true, ...(deps.embeddedSeed ? { embeddedSeed: deps.embeddedSeed } : {}) });
    closers.push({ name: 'storage', close: () => storage.close() });
    await createInstanceRepository(storage.database.sql).claimServerName(config.server_name, deps.clock.now());

    const bus: Bus = config.redis.url
      ? await createRedisBus({ url: config.redis.url, log, keyPrefix: config.redis.key_prefix })
      : createMemoryBus({ log });
    closers.push({ name: 'bus', close: () => bus.close() });

    // One cache of events by id for the room server's reads and /sync's: stored events never change.
    const eventCache = new EventCache(DEFAULT_EVENT_CACHE_SIZE);
    // /sync's window on the newest events, handed the events this process commits as they commit.
    const streamWindow = new StreamWindow(eventCache);
    const roomStore = createRoomStore(storage.database.sql, { eventCache, streamWindow });
    const userData = accountDataAnnounced(createUserDataStore(storage.database.sql), bus, log);
    const syncNotifier = new SyncNotifier();
    const stopWakeups = wakeSyncOnBus(bus, syncNotifier);
    closers.push({ name: 'sync wake-ups', close: async () => stopWakeups() });
    const filters = createFilterService({ store: userData });
    // One room notifier: local sends and the receive pipeline for remote PDUs announce the same way.
    const roomNotifier = roomNotifierOnBus(bus, log);
    // A room's policy server is asked over federation (its client is made below, before anything sends).
    const policySigner: PolicySigner = {
      askToSign: (via, pdu) => federationClient.request(via, 'POST', '/_matrix/policy/v1/sign', { body: { ...pdu }, timeoutMs: POLICY_SIGN_TIMEOUT_MS }),
    };
    const rooms = createRoomServer({
      policySigner,
      store: roomStore,
      notifier: roomNotifier,
      defaultRoomVersion: String(config.default_room_version),
      log,
      clock: deps.clock,
      random: deps.random,
      serverName: config.server_name,
      signingKey: key,
      memberProfile: memberProfileLookup(userData),
    });

    const serverName = parseServerName(config.server_name);
    // Federation: signed requests go where the resolver points, over one HTTP client with the configured
    // TLS trust; the keyring learns other servers' keys (kept in the database) and checks X-Matrix requests.
    const federationTls = { extraCaPems: await readCaFiles(config.federation.ca_files), verify: config.federation.verify_tls };
    const federationHttp = createHttpClient({
      log,
      userAgent: `Hearth/${deps.version}`,
      timeoutMs: 60_000,
      maxResponseBytes: 100 * 1024 * 1024,
      tls: federationTls,
    });
    closers.push({ name: 'federation http', close: () => federationHttp.close() });
    const allowPrivateAddresses = config.federation.allow_private_addresses;
    const federationClient = createFederationClient({
      serverName: config.server_name,
      signingKey: key,
      http: federationHttp,
      dns: systemDns,
      allowPrivateAddresses,
      log,
      resolver: createServerResolver({
        clock: deps.clock,
        lookupSrv: systemDns.lookupSrv,
        fetchWellKnown: wellKnownFetcher({ http: federationHttp, dns: systemDns, allowPrivateAddresses }),
      }),
    });
    // Outbound federation: local events and EDUs, queued per destination in the database. Created here so
    // that the services below can hand it their EDUs; started near the end, once the app answers.
    const federationSender = createFederationSender({
      store: createFederationQueueStore(storage.database.sql),
      client: federationClient,
      rooms: roomStore,
      serverName: config.server_name,
      clock: deps.clock,
      random: deps.random,
      log,
      // In a process that does not hold the sender role, queued work is announced to the one that does.
      announce: announceQueuedOnBus(bus, log),
      // Servers newly sharing a room get its local members' presence (the presence service, made below).
      presenceOf: async (userIds) => (await presence.presenceOf(userIds)).map((event) => ({ ...event.content, user_id: event.sender })),
      // The events this process commits are in /sync's window already: no statement reads them back.
      recentEvents: (after, upTo, limit) => streamWindow.eventsAfter(after, upTo, limit),
    });
    // The EDUs (receipts, presence, device lists, signing keys, to-device) local changes produce.
    const federationEdus = createEduProducers({
      sender: federationSender,
      roomsWithMembership: (userId, membership) => roomStore.roomsWithMembership(userId, membership),
      previousDeviceListPosition: previousDeviceListPosition(storage.database.sql),
      serverName: config.server_name,
      log,
    });
    // Remote users' keys: device lists of those who share a room with a local user are kept in the
    // database and updated by their servers' m.device_list_update and m.signing_key_update (remoteUpdate).
    const inboundStore = createInboundTransactionStore(storage.database.sql);
    const remoteKeys = createRemoteKeys({
      client: federationClient,
      store: createRemoteDeviceListStore(storage.database.sql),
      serverName: config.server_name,
      clock: deps.clock,
      log,
      // A fetched list that differs from the kept one is a device-list change for local room-mates' syncs.
      changed: async (userId) => keys.announce(userId, await inboundStore.remoteDeviceListChanged([userId])),
    });

    // Device keys and the device-list stream. A device logged in, renamed or removed is a device-list
    // change: the accounts store records it, and the keys service tells the user's room-mates' syncs.
    const keysStore = createKeysStore(storage.database.sql);
    const keys = createKeysService({
      store: keysStore,
      log,
      serverName: config.server_name,
      joinedRooms: (userId) => roomStore.roomsWithMembership(userId, 'join'),
      notify: streamNotifierOnBus(bus, log, 'deviceLists'),
      verifyDeviceKeys: config.e2ee.verify_device_keys,
      remote: remoteKeys,
      federateDevices: federationEdus.deviceListChanged,
    });
    // Tokens are checked from memory; a write that revokes some forgets them here and, over the bus, elsewhere.
    let forgetTokensOf: (userId: string) => void = () => undefined;
    const tokenRevocations = tokenRevocationsOnBus(bus, log, (userId) => forgetTokensOf(userId));
    closers.push({ name: 'token revocations', close: async () => tokenRevocations.unsubscribe() });
    const accountsStore = withTokenCache(deviceChangesAnnounced(createAccountsStore(storage.database.sql), keys.announce, log), {
      now: () => deps.clock.now(),
      announce: tokenRevocations.announce,
    });
    forgetTokensOf = accountsStore.forgetUser;
    const isServerAdmin = async (userId: string) => isUserId(userId) && (await accountsStore.user(userId))?.admin === true;
    // Erased accounts, whose events are served redacted (src/rooms/erasure.ts): few, read on every event
    // served, so kept in memory; another process's erasure arrives over the bus.
    const erased = createErasedUsers(await accountsStore.erasedUsers());
    const erasures = erasuresOnBus(bus, log, (userId) => erased.add(userId));
    closers.push({ name: 'erasures', close: async () => erasures.unsubscribe() });
    // Single sign-on (made below, once accounts exist): its users confirm operations at their provider.
    let sso: Sso | undefined;
    const uia = createUia({
      store: accountsStore,
      clock: deps.clock,
      random: deps.random,
      signsInWithSso: async (userId) => sso !== undefined && isUserId(userId) && (await sso.signsInWithSso(userId)),
    });
    const passwords = createScryptHasher({ random: deps.random });
    const registrationTokens = createRegistrationTokens({
      store: createRegistrationTokensStore(storage.database.sql),
      clock: deps.clock,
      random: deps.random,
      isServerAdmin,
      required: config.registration_requires_token,
    });
    const ssoConfigured = config.sso.cas.server_url !== null || config.sso.oidc_providers.length > 0;
    const ssoStore = createSsoStore(storage.database.sql);
    const loginTokens = config.login_via_existing_session.enabled || ssoConfigured
      ? createLoginTokens({
          store: createLoginTokensStore(storage.database.sql),
          accounts: accountsStore,
          uia,
          passwords,
          clock: deps.clock,
          random: deps.random,
          log,
          lifetimeMs: config.login_via_existing_session.token_timeout_ms,
        })
      : undefined;
    // Application services: each one's own user exists from the start (it acts as it without registering).
    await ensureAppServiceUsers(appServices, accountsStore, deps.clock.now());
    const appServiceNamespaces = appServices.size === 0 ? undefined : {
      exclusiveOwner: (userId: string) => appServices.exclusiveUserOwner(userId)?.id,
      owns: (serviceId: string, userId: string) => {
        const service = appServices.byId(serviceId);
        return service !== undefined && appServices.ownsUser(service, userId);
      },
    };
    // Email addresses on accounts: validated by a link mailed through the configured relay (email.smtp_host).
    const accountThreepids = createAccountThreepids({
      store: createAccountThreepidStore(storage.database.sql),
      mailer: config.email.smtp_host === null
        ? null
        : createMailer({
            host: config.email.smtp_host,
            port: config.email.smtp_port,
            from: config.email.notif_from ?? `noreply@${config.server_name.replace(/:\d+$/, '')}`,
            heloName: config.server_name.replace(/:\d+$/, ''),
            timeoutMs: 30_000,
          }),
      publicBaseUrl: config.public_baseurl,
      serverName: config.server_name,
      clock: deps.clock,
      random: deps.random,
      log,
    });
    // reCAPTCHA: its stage where keys are configured (the fallback page can show it); registration asks for it when required.
    const { recaptcha: captchaConfig } = config;
    let captcha: ReturnType<typeof recaptchaStage> | undefined;
    if (captchaConfig.public_key !== null && captchaConfig.private_key !== null) {
      const captchaHttp = createHttpClient({ log, userAgent: `Hearth/${deps.version}`, timeoutMs: 10_000, maxResponseBytes: 64 * 1024, tls: federationTls });
      closers.push({ name: 'recaptcha http', close: () => captchaHttp.close() });
      captcha = recaptchaStage({ http: captchaHttp, publicKey: captchaConfig.public_key, privateKey: captchaConfig.private_key, siteverifyUrl: captchaConfig.siteverify_api });
    }
    const accounts = createAccountService({
      ...(captcha && captchaConfig.require_for_registration ? { registrationCaptcha: captcha } : {}),
      threepidOwner: (medium, address) => accountThreepids.userFor(medium, address),
      ...(accountThreepids.enabled
        ? {
            emailRegistration: {
              stage: accountThreepids.emailStage,
              registered: (session: string, userId: string) => accountThreepids.registered(session, userId),
              required: config.registration_requires_email,
            },
          }
        : {}),
      store: accountsStore,
      uia,
      passwords,
      clock: deps.clock,
      random: deps.random,
      serverName,
      log,
      enableRegistration: config.enable_registration,
      allowGuestAccess: config.allow_guest_access,
      accessTokenLifetimeMs: config.access_token_lifetime_ms,
      registrationTokens,
      ...(loginTokens ? { loginTokens: { redeem: loginTokens.redeem, getLoginToken: config.login_via_existing_session.enabled } } : {}),
      ...(ssoConfigured ? { ssoFlows: () => sso?.flows() ?? [] } : {}),
      ...(appServiceNamespaces ? { appServices: appServiceNamespaces } : {}),
    });
    if (ssoConfigured && loginTokens) {
      const ssoHttp = createHttpClient({ log, userAgent: `Hearth/${deps.version}`, timeoutMs: 15_000, maxResponseBytes: 1024 * 1024, tls: federationTls });
      closers.push({ name: 'single sign-on http', close: () => ssoHttp.close() });
      sso = createSso(ssoSettings(config, {
        store: ssoStore,
        accounts: accountsStore,
        createAccount: (localpart, displayName, identity) => accounts.createExternalAccount(localpart, displayName, identity),
        addVerifiedEmail: (userId, address) => accountThreepids.addVerified(userId, address),
        loginTokens,
        uia,
        http: ssoHttp,
        serverName,
        clock: deps.clock,
        random: deps.random,
        log,
      }));
    }
    const devices = createDeviceService({ store: accountsStore, uia, passwords, clock: deps.clock });
    const crossSigning = createCrossSigning({
      store: keysStore,
      uia,
      passwords,
      accounts: accountsStore,
      announce: keys.announce,
      announceTo: (userId, position) => streamNotifierOnBus(bus, log, 'deviceLists')({ position, users: [userId] }),
      federateKeys: federationEdus.signingKeysChanged,
    });
    const accountManagement = createAccountManagement({
      store: accountsStore,
      uia,
      passwords,
      ...(accountThreepids.enabled ? { emailReset: { stage: accountThreepids.resetStage, ownerOfUia: (session: string) => accountThreepids.ownerOfUia(session) } } : {}),
      // A deactivated account leaves its rooms through the room server, like any leave.
      rooms: {
        roomsWithMembership: (userId, membership) => roomStore.roomsWithMembership(userId, membership),
        leave: (roomId, userId) => rooms.leave(roomId, userId),
      },
      isServerAdmin,
      log,
      erased: (userId) => {
        erased.add(userId);
        void erasures.announce(userId);
      },
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
      remote: createRemoteProfiles({ client: federationClient, clock: deps.clock, log }),
    });

    const serverKeys = createServerKeysService({
      serverName: config.server_name,
      signingKey: key,
      oldVerifyKeys: config.old_signing_keys,
      validForMs: config.key_valid_for_ms,
      clock: deps.clock,
    });

    const keyring = createKeyring({
      serverName: config.server_name,
      ownKeys: serverKeys,
      signingKey: key,
      oldVerifyKeys: config.old_signing_keys,
      store: createServerKeysStore(storage.database.sql),
      client: federationClient,
      clock: deps.clock,
      log,
      trustedKeyServers: config.federation.trusted_key_servers.map((notary) => ({
        serverName: notary.server_name,
        ...(notary.verify_keys ? { verifyKeys: notary.verify_keys } : {}),
      })),
    });
    // Remote PDUs (federation /send, joins, backfill) enter the rooms through this one pipeline.
    // Guests are this server's to police: a room that stops admitting them (here or elsewhere) makes them leave.
    const isLocalGuest = async (userId: string) => isUserId(userId) && (await accountsStore.user(userId))?.isGuest === true;
    const guestAccess = createGuestAccess({ store: roomStore, isLocalGuest, leave: (roomId, userId) => rooms.leave(roomId, userId), log });
    const receivePipeline = createReceivePipeline({
      store: roomStore, keys: keyLookupOf(keyring), notifier: roomNotifier, log, afterAccepted: (event) => guestAccess.afterEvent(event), policySigner,
    });
    // Gaps before a remote PDU are filled from its sender; history before our join, from a server in the room.
    const gapFiller = createGapFiller({ client: federationClient, pipeline: receivePipeline, rooms: roomStore, log });
    const backfiller = createBackfiller({
      client: federationClient,
      pipeline: receivePipeline,
      gaps: gapFiller,
      store: roomStore,
      servers: (roomId) => federationSender.roomDestinations(roomId),
      serverName: config.server_name,
      clock: deps.clock,
      log,
    });
    // Joins, knocks, leaves and invites that involve rooms or users held by other servers.
    const remoteMembership = createRemoteMembership({
      store: roomStore,
      federation: federationClient,
      keys: keyLookupOf(keyring),
      notifier: roomNotifier,
      log,
      clock: deps.clock,
      random: deps.random,
      serverName: config.server_name,
      signingKey: key,
      memberProfile: memberProfileLookup(userData),
      prepare: (roomId, draft) => rooms.prepare(roomId, draft),
      receive: receivePipeline,
    });

    const directoryStore = createDirectoryStore(storage.database.sql);
    // Application services' URLs come from the operator's registration files (loopback is their usual
    // home): their own pool, no address rules, and the TLS trust federation has (ca_files, verify_tls).
    const appServiceHttp = createHttpClient({ log, userAgent: `Hearth/${deps.version}`, timeoutMs: 60_000, maxResponseBytes: 10 * 1024 * 1024, tls: federationTls });
    closers.push({ name: 'application service connections', close: () => appServiceHttp.close() });
    const appServiceClient = createAppServiceClient({ http: appServiceHttp, now: () => deps.clock.now() });
    const appServiceQueries = createAppServiceQueries({ services: appServices, client: appServiceClient, clock: deps.clock, log });
    const aliases = createAliasService({
      aliases: directoryStore, store: roomStore, rooms, isServerAdmin, serverName: config.server_name, clock: deps.clock, log,
      remoteAlias: (alias) => remoteMembership.resolveAlias(alias),
      ...(appServices.size === 0 ? {} : {
        appServices: {
          owns: (serviceId: string, alias: string) => {
            const service = appServices.byId(serviceId);
            return service !== undefined && appServices.ownsAlias(service, alias);
          },
          exclusiveOwner: (alias: string) => appServices.exclusiveAliasOwner(alias)?.id,
          query: (alias: string) => appServiceQueries.aliasExists(alias),
        },
      }),
    });
    const roomDirectory = createRoomDirectory({
      directory: directoryStore, store: roomStore, isServerAdmin, serverName: config.server_name, clock: deps.clock,
      remote: createRemotePublicRooms({ client: federationClient }),
      networks: directoryStore,
    });
    // The content repository: rows in the database, bytes on local disk (media.store_path). Other
    // servers' content is fetched over federation; a multipart answer pointing elsewhere (a CDN) is
    // followed only to an address federation may reach.
    const mediaStore = createMediaStore(storage.database.sql);
    const media = createMediaService({
      store: mediaStore,
      blobs: createFileBlobStore(config.media.store_path),
      serverName: config.server_name,
      clock: deps.clock,
      random: deps.random,
      options: {
        maxUploadBytes: config.media.max_upload_size_bytes,
        maxPendingUploads: config.media.max_pending_uploads,
        pendingLifetimeMs: config.media.pending_upload_lifetime_ms,
        maxWaitMs: 60_000,
      },
      ...(config.media.fetch_remote
        ? {
            remote: createRemoteMedia({
              client: federationClient,
              fetchLocation: async (url, maxBytes) => {
                const target = new URL(url);
                if (target.protocol !== 'https:') throw new Error('a media Location that is not https');
                const host = target.hostname.replace(/^\[|\]$/g, '');
                await connectableAddresses(host, host, systemDns, allowPrivateAddresses);
                return federationHttp.request(target, { maxResponseBytes: maxBytes });
              },
            }),
          }
        : {}),
      log,
    });
    // URL previews: pages fetched on users' behalf, never from private addresses unless allowed, their
    // pictures kept as this server's content.
    let previews: UrlPreviewService | null = null;
    if (config.url_previews.enabled) {
      const previewConfig = config.url_previews;
      const fetcher = createPreviewFetcher({
        userAgent: `Hearth/${deps.version} (URL preview; +https://${config.server_name}/)`,
        timeoutMs: previewConfig.timeout_ms,
        maxBytes: Math.min(previewConfig.max_page_bytes, config.media.max_upload_size_bytes),
        allowPrivateAddresses: previewConfig.allow_private_addresses,
        allowedRanges: previewConfig.allowed_ip_ranges,
        deniedRanges: previewConfig.denied_ip_ranges,
        deniedHosts: previewConfig.denied_hosts,
        acceptLanguage: previewConfig.accept_language,
        tls: federationTls,
      });
      closers.push({ name: 'url preview connections', close: () => fetcher.close() });
      previews = createUrlPreviewService({
        fetcher,
        store: createUrlPreviewStore(storage.database.sql),
        keepImage: (bytes, contentType, fileName) => media.keepFetched(bytes, contentType, fileName),
        imageSize,
        clock: deps.clock,
        log,
        options: { deniedHosts: previewConfig.denied_hosts, cacheMs: previewConfig.cache_ms },
      });
    }
    const reports = createReportService({
      store: createReportStore(storage.database.sql),
      rooms: roomStore,
      localUserExists: async (userId) => (await accountsStore.user(userId)) !== undefined,
      isServerAdmin,
      serverName: config.server_name,
      clock: deps.clock,
      log,
    });

    // Typing lives in memory; the relay's origin tells this process's typing notices from other processes'.
    const typing = createTypingService({ rooms: roomStore, clock: deps.clock, relay: typingRelayOnBus(bus, log, deps.random.token(8)) });
    closers.push({ name: 'typing', close: async () => typing.close() });
    const pushRules = createPushRulesService({ store: userData });
    // Push notifications to the gateways of users' http pushers; the URLs are users' own, so they are held
    // to federation's address rules (no loopback or private addresses unless federation allows them).
    const pushSender = createPushSender({
      store: createPushSenderStore(storage.database.sql),
      post: async (url, body) => {
        const target = new URL(url);
        if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new Error('a push gateway URL must be http or https');
        const host = target.hostname.replace(/^\[|\]$/g, '');
        await connectableAddresses(host, host, systemDns, allowPrivateAddresses);
        const response = await federationHttp.request(target, { method: 'POST', body, timeoutMs: 15_000, maxResponseBytes: 64 * 1024 });
        let rejected: string[] = [];
        if (response.status >= 200 && response.status < 300) {
          try {
            const answer = response.json() as { rejected?: unknown };
            if (Array.isArray(answer.rejected)) rejected = answer.rejected.filter((key): key is string => typeof key === 'string');
          } catch {
            // A gateway that answers 200 without JSON rejected nothing.
          }
        }
        return { status: response.status, rejected };
      },
      serverName: config.server_name,
      clock: deps.clock,
      scheduler: timerScheduler,
      log,
    });
    const receipts = createReceiptService({
      store: createReceiptsStore(storage.database.sql),
      readMarkers: userData,
      rooms: roomStore,
      clock: deps.clock,
      notify: streamNotifierOnBus(bus, log, 'receipts'),
      federate: async (receipt) => {
        // A read receipt (of the user's own) may clear a room from their push badge.
        if (receipt.receiptType === 'm.read' || receipt.receiptType === 'm.read.private') await pushSender.receiptMoved(receipt.userId, receipt.roomId);
        await federationEdus.receipt(receipt);
      },
    });
    const toDevice = createToDeviceService({
      store: createToDeviceStore(storage.database.sql),
      clock: deps.clock,
      log,
      serverName: config.server_name,
      notify: streamNotifierOnBus(bus, log, 'toDevice'),
      federate: federationEdus.toDevice,
    });
    const presence = createPresenceService({
      store: createPresenceStore(storage.database.sql),
      rooms: roomStore,
      clock: deps.clock,
      notify: streamNotifierOnBus(bus, log, 'presence'),
      enabled: config.presence.enabled,
      federate: federationEdus.presence,
    });

    // Inbound federation transactions: PDUs through the receive pipeline (gaps filled from the sender),
    // EDUs into typing, receipts, presence, to-device and device lists.
    const federationTransactions = createTransactionReceiver({
      store: inboundStore,
      rooms: roomStore,
      serverName: config.server_name,
      pdus: gapFiller,
      edus: createInboundEdus({
        rooms: roomStore,
        typing,
        receipts: { store: createReceiptsStore(storage.database.sql), notify: streamNotifierOnBus(bus, log, 'receipts') },
        presence: config.presence.enabled ? { store: createPresenceStore(storage.database.sql), notify: streamNotifierOnBus(bus, log, 'presence') } : null,
        joiningThrough: (server) => remoteMembership.joiningThrough(server),
        toDevice: { notify: streamNotifierOnBus(bus, log, 'toDevice') },
        deviceLists: { announce: keys.announce, remoteUpdate: remoteKeys.remoteUpdate },
        store: inboundStore,
        serverName: config.server_name,
        clock: deps.clock,
        log,
      }),
      reachable: (origin) => federationSender.destinationReachable(origin),
      clock: deps.clock,
      log,
    });

    // Users whose m.invite_permission_config blocks invites: refused here and over federation (M_INVITE_BLOCKED).
    // Synapse's admin API for rooms; its blocks are checked by every join, knock and invite.
    const adminRooms = createAdminRooms({
      store: createAdminRoomsStore(storage.database.sql, config.server_name),
      isServerAdmin,
      clock: deps.clock,
      log,
      // A shutdown acts as the members themselves would (clientRooms is made below).
      shutdown: {
        leave: (userId, roomId, reason) => clientRooms.leave({ userId, deviceId: null }, roomId, reason),
        join: async (userId, roomId) => void (await clientRooms.join({ userId, deviceId: null }, roomId)),
        // Synapse's notice room: public so the members can be put in it, and only its maker may speak.
        createRoom: (creator, name) =>
          clientRooms.createRoom({ userId: creator, deviceId: null }, { preset: 'public_chat', name, powerLevelContentOverride: { users_default: -10 } }),
        sendNotice: async (sender, roomId, body) => void (await clientRooms.sendMessage({ userId: sender, deviceId: null }, roomId, 'm.room.message', undefined, { msgtype: 'm.text', body })),
        aliases: directoryStore,
        directory: directoryStore,
        isLocalUser: async (userId) => isUserId(userId) && (await accountsStore.user(userId))?.deactivated === false,
      },
    });
    const invitesBlocked = async (userId: string): Promise<boolean> =>
      isUserId(userId) && blocksInvites(await userData.accountData(userId, null, INVITE_PERMISSION_CONFIG));
    // What other servers read of rooms; an unknown alias they ask about may be one a bridge makes on demand.
    const federationReads = createFederationReads({
      store: roomStore, aliases: directoryStore, serverName: config.server_name, erased,
      ...(appServices.size === 0 ? {} : { appServiceAlias: (alias: string) => appServiceQueries.aliasExists(alias) }),
    });
    // The resident side of membership handshakes (make_/send_ join, leave, knock) and invites of our users.
    const federationMembership = createFederationMembership({
      store: roomStore,
      receive: receivePipeline,
      reads: federationReads,
      keys: keyLookupOf(keyring),
      notifier: roomNotifier,
      restrictedJoinAuthoriser: (roomId, userId) => rooms.restrictedJoinAuthoriser(roomId, userId),
      log,
      clock: deps.clock,
      serverName: config.server_name,
      signingKey: key,
      relay: (eventId, except) => federationSender.relayEvent(eventId, except),
      ignoredUsers: async (userId) => (isUserId(userId) ? ignoredUsersOf(await userData.accountData(userId, null, IGNORED_USER_LIST)) : new Set()),
      invitesBlocked,
      roomBlocked: (roomId) => adminRooms.isBlocked(roomId),
      localUserExists: async (userId) => isUserId(userId) && (await accountsStore.user(userId)) !== undefined,
    });



    const clientRooms = createClientRooms({
      rooms, store: roomStore, clock: deps.clock, serverName: config.server_name, aliases: directoryStore, directory: directoryStore,
      roomBlocked: (roomId) => adminRooms.isBlocked(roomId),
      upgradeCarry: createUpgradeCarry({
        store: roomStore, accountData: userData, pushRules, aliases: directoryStore, directory: directoryStore, clock: deps.clock, log,
      }),
      remote: remoteMembership,
      backfill: (roomId, wanted) => backfiller.backfill(roomId, wanted),
      // A room that stops admitting guests makes them leave.
      guestAccess,
      ignoredUsers: async (userId) => (isUserId(userId) ? ignoredUsersOf(await userData.accountData(userId, null, IGNORED_USER_LIST)) : new Set()),
      invitesBlocked,
      erased,
      ...(appServices.size === 0 ? {} : {
        appServices: {
          aliasExists: (alias: string) => appServiceQueries.aliasExists(alias),
          provideUser: async (userId: string) => {
            if (appServices.interestedInUser(userId).length === 0 || !isUserId(userId) || (await accountsStore.user(userId)) !== undefined) return;
            await appServiceQueries.userExists(userId);
          },
        },
      }),
    });
    // Inviting email addresses through identity servers (third-party invites); the identity server's name
    // comes from a user, so its address is checked as federation's are.
    const identityServers = createIdentityServerClient({
      allowPrivateAddresses,
      timeoutMs: 30_000,
      userAgent: `Hearth/${deps.version}`,
      tls: federationTls,
      serverName: config.server_name,
      signingKey: key,
    });
    const threepidBindings = createThreepidBindings({ store: createThreepidBindingStore(storage.database.sql), identity: identityServers, log });
    closers.push({ name: 'identity server connections', close: () => identityServers.close() });
    const thirdPartyInvites = createThirdPartyInvites({
      rooms,
      store: roomStore,
      identity: identityServers,
      serverName: config.server_name,
      inviteUser: (inviter, roomId, userId) => clientRooms.moderate({ userId: inviter, deviceId: null }, 'invite', roomId, userId),
      inviteRemote: (roomId, sender, target, thirdPartyInvite) => remoteMembership.invite(roomId, sender, target, undefined, undefined, thirdPartyInvite),
      hasLocalMember: (roomId) => remoteMembership.hasLocalMember(roomId),
      exchange: async (server, roomId, body) => {
        await federationClient.request(server, 'PUT', `/_matrix/federation/v1/exchange_third_party_invite/${encodeURIComponent(roomId)}`, { body });
      },
      profile: memberProfileLookup(userData),
      log,
    });

    const app = await buildApp({
      log,
      version: deps.version,
      serverName,
      accounts,
      devices,
      accountManagement,
      ...(loginTokens && config.login_via_existing_session.enabled ? { loginTokens } : {}),
      ...(sso ? { sso: { service: sso, secureCookie: config.public_baseurl.startsWith('https:') } } : {}),
      registrationTokens,
      profiles,
      accountData: createAccountDataService({ store: userData }),
      filters,
      sync: createSyncService({
        store: createSyncStore(storage.database.sql, { eventCache, streamWindow }),
        notifier: syncNotifier,
        clock: deps.clock,
        storedFilter: (requester, filterId) => filters.get(requester, requester.userId, filterId),
        streams: { typing, receipts, toDevice, presence, pushRules, keys: { deviceKeyCounts: keys.deviceKeyCounts } },
        erased,
      }),
      legacy: createLegacySync({
        // Its snapshots read memberships, positions and account data only: no state worth caching.
        store: createSyncStore(storage.database.sql, { eventCache, stateCacheEntries: 16, streamWindow: false }),
        rooms: roomStore,
        notifier: syncNotifier,
        clock: deps.clock,
        streams: { typing, receipts, presence },
        directory: directoryStore,
        erased,
      }),
      defaultRoomVersion: String(config.default_room_version),
      rooms: clientRooms,
      thirdPartyInvites,
      peeks: createRoomPeeks({
        store: roomStore,
        serverName: config.server_name,
        roomBlocked: (roomId) => adminRooms.isBlocked(roomId),
        peeks: peeksAnnounced(createPeekStore(storage.database.sql), bus, log),
        resolve: (roomIdOrAlias) => clientRooms.resolveRoomId(roomIdOrAlias),
      }),
      threepids: { bindings: threepidBindings, account: accountThreepids },
      aliases,
      roomDirectory,
      tags: createTagService({ store: userData }),
      pushRules,
      adminUsers: createAdminUsers({
        serverName,
        // PUT /_synapse/admin/v2/users/{userId} acts through the services the user's own requests use.
        writes: {
          createAccount: async (localpart, password, admin, displayName) =>
            (await accounts.createAccount({ localpart, password, admin, device: null, ...(displayName === undefined ? {} : { displayName }) })).userId,
          resetPassword: (requester, userId, password, logoutDevices) => accountManagement.adminResetPassword(requester, userId, password, logoutDevices),
          deactivate: async (requester, userId) => {
            await accountManagement.adminDeactivate(requester, userId, false);
            await accountThreepids.removeAll(userId);
            await threepidBindings.unbindAll(userId);
          },
          setProfileField: async (userId, key, value) => {
            const asUser = { userId, deviceId: null, isGuest: false };
            if (value === null) await profiles.deleteProfileField(asUser, userId, key);
            else await profiles.setProfileField(asUser, userId, key, { [key]: value });
          },
        },
        store: accountsStore,
        profiles: userData,
        isServerAdmin,
        isErased: (userId) => erased.isErased(userId),
        threepids: (userId) => accountThreepids.threepids(userId),
        ...(ssoConfigured ? { externalIds: (userId: UserId) => ssoStore.identitiesOf(userId) } : {}),
      }),
      uiaFallback: createUiaFallback({
        uia,
        store: accountsStore,
        passwords,
        ...(config.registration_requires_token ? { registrationTokens } : {}),
        ...(captcha ? { recaptcha: captcha } : {}),
      }),
      notifications: createNotificationsList({
        store: createSyncStore(storage.database.sql, { eventCache, stateCacheEntries: 16, streamWindow: false }),
        actionsFor: async (userId) => pushActions((await pushRules.pushRulesAccountData(userId as UserId)).content.global),
        clock: deps.clock,
        erased,
      }),
      pushers: createPusherService({ store: createPushersStore(storage.database.sql), clock: deps.clock, added: () => pushSender.pusherAdded() }),
      openId: createOpenIdTokens({ store: createOpenIdStore(storage.database.sql), clock: deps.clock, random: deps.random, serverName }),
      whois: createWhois({ store: accountsStore, serverName }),
      accountModeration: createAccountModeration({ store: accountsStore, isServerAdmin, serverName, log }),
      adminRooms,
      mutualRooms: createMutualRooms({ store: roomStore }),
      e2eeKeys: { keys, crossSigning },
      keyBackup: createKeyBackupService({ store: createKeyBackupStore(storage.database.sql) }),
      dehydratedDevices: createDehydratedDevices({
        store: createDehydratedDevicesStore(storage.database.sql),
        toDevice,
        announce: keys.announce,
        clock: deps.clock,
        log,
        verifyDeviceKeys: config.e2ee.verify_device_keys,
      }),
      search: createSearchService({ search: createSearchStore(storage.database.sql), store: roomStore, clock: deps.clock, erased }),
      reports,
      userDirectory: createUserDirectory({ store: createUserDirectoryStore(storage.database.sql) }),
      typing,
      receipts,
      toDevice,
      presence,
      sharedSecretRegistration,
      serverKeys,
      federation: { keyring, clock: deps.clock },
      federationTransactions,
      federationMembership,
      ...(appServices.size === 0 ? {} : {
        appServices: {
          auth: createAppServiceAuth({
            services: appServices,
            activeUser: async (userId) => {
              const user = await accountsStore.user(userId);
              return user === undefined || user.deactivated ? false : { locked: user.locked === true, suspended: user.suspended === true };
            },
            deviceExists: async (userId, deviceId) => (await accountsStore.device(userId, deviceId)) !== undefined,
          }),
          routes: [
            appServiceRoutes(appServiceQueries),
            appServiceDirectoryRoutes(roomDirectory),
          ],
        },
      }),
      thirdParty: thirdPartyRoutes(createThirdPartyLookups({ services: appServices, client: appServiceClient, clock: deps.clock, log })),
      media: {
        service: media,
        serveUnauthenticated: config.media.serve_unauthenticated,
        boundary: () => deps.random.token(16),
        previews,
        quarantine: createMediaQuarantine({ store: mediaStore, isServerAdmin, clock: deps.clock, log }),
      },
      hierarchy: createSpaceHierarchy({
        store: createHierarchyStore(storage.database.sql),
        joinedRooms: (userId) => roomStore.roomsWithMembership(userId, 'join'),
        serverName: config.server_name,
        clock: deps.clock,
        remote: (server, roomId, suggestedOnly) =>
          federationClient.request(server, 'GET', `/_matrix/federation/v1/hierarchy/${encodeURIComponent(roomId)}`, {
            query: { suggested_only: suggestedOnly },
            timeoutMs: 15_000,
          }),
        resolveAlias: (alias) => aliases.resolve(alias),
        log,
      }),
      federationReads: {
        rooms: federationReads,
        profiles: createFederationProfiles({ profiles, serverName: config.server_name }),
        keys: createFederationKeys({ keys, positions: createDeviceListPositions(storage.database.sql), serverName: config.server_name }),
        clock: deps.clock,
      },
      wellKnown: {
        clientBaseUrl: config.well_known.client_base_url ?? config.public_baseurl,
        clientExtra: config.well_known.client_extra,
        server: config.well_known.server,
        support: { contacts: config.well_known.support.contacts, supportPage: config.well_known.support.support_page },
      },
      maxJsonBodyBytes: config.http.max_json_body_bytes,
      trustProxy: config.http.trust_proxy,
      rateLimiter: rateLimiterFor(config, deps.clock, isServerAdmin),
      tls: config.listen.tls && {
        cert: await readFile(config.listen.tls.cert_file),
        key: await readFile(config.listen.tls.key_file),
      },
    });
    const closeApp = appCloser(app);
    closers.push({ name: 'http', close: closeApp });
    // Closers run last-first: waiting long-polls end before the app waits for its requests to finish.
    closers.push({ name: 'sync notifier', close: async () => syncNotifier.close() });
    // Started without waiting: a backlog from before a restart is queued and sent while the server already answers.
    const stopFederationSender = federationSenderOnBus(bus, federationSender, log);
    // One process of those sharing the database sends: the one elected (at once with the embedded engine).
    const senderElection = electFederationSender({
      lock: createLeaderLock(storage.database, FEDERATION_SENDER_LOCK_ID),
      sender: federationSender,
      scheduler: timerScheduler,
      log,
    });
    closers.push({
      name: 'federation sender',
      close: async () => {
        stopFederationSender();
        await federationSender.close();
        await senderElection.stop();
      },
    });
    // Push notifications: one process sends them too (its own role), following the events stream.
    const stopPushEvents = bus.subscribe(EVENTS_CHANNEL, (message) => {
      const position = typeof message.position === 'string' ? Number(message.position) : NaN;
      pushSender.eventsAdvanced(Number.isSafeInteger(position) ? position : undefined);
    });
    const pushElection = electFederationSender({
      lock: createLeaderLock(storage.database, PUSH_SENDER_LOCK_ID),
      sender: pushSender,
      role: 'push notifications',
      scheduler: timerScheduler,
      log,
    });
    closers.push({
      name: 'push sender',
      close: async () => {
        stopPushEvents();
        await pushSender.standDown();
        await pushElection.stop();
      },
    });
    // Application services: one process sends them their transactions too (its own role).
    if (appServices.size > 0) {
      const appServiceSender = createAppServiceSender({
        services: appServices,
        ephemeral: {
          typing,
          receipts,
          presence,
          joinedRooms: (userId) => roomStore.roomsWithMembership(userId, 'join'),
        },
        store: createAppServiceStore(storage.database.sql),
        client: appServiceClient,
        clock: deps.clock,
        scheduler: timerScheduler,
        log,
      });
      const roomsOf = (message: Record<string, unknown>) => (Array.isArray(message.rooms) ? message.rooms.filter((room): room is string => typeof room === 'string') : []);
      const usersOf = (message: Record<string, unknown>) => (Array.isArray(message.users) ? message.users.filter((user): user is string => typeof user === 'string') : []);
      const stopAppServiceStreams = [
        bus.subscribe(EVENTS_CHANNEL, () => appServiceSender.eventsAdvanced()),
        bus.subscribe(TYPING_CHANNEL, (message) => appServiceSender.typingChanged(roomsOf(message))),
        bus.subscribe(RECEIPTS_CHANNEL, (message) => appServiceSender.receiptsChanged(roomsOf(message))),
        bus.subscribe(PRESENCE_CHANNEL, (message) => appServiceSender.presenceChanged(usersOf(message))),
      ];
      const appServiceElection = electFederationSender({
        lock: createLeaderLock(storage.database, APPSERVICE_SENDER_LOCK_ID),
        sender: appServiceSender,
        role: 'application service transactions',
        scheduler: timerScheduler,
        log,
      });
      closers.push({
        name: 'application service sender',
        close: async () => {
          for (const stop of stopAppServiceStreams) stop();
          await appServiceSender.standDown();
          await appServiceElection.stop();
        },
      });
    }
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

/** How often, while the app closes, connections that have gone idle are closed. */
const IDLE_SWEEP_MS = 100;

/**
 * How the app closes, set up when it is built: it counts the requests in flight from then on. Node closes
 * the keep-alive connections idle when close starts; one still answering a request (another server's
 * transaction, a long-poll) would then stay open for its keep-alive timeout (72 s) and hold the shutdown,
 * so idle connections are swept until every request is answered. A connection that has sent no request yet
 * (a client's spare one, opened ahead of need) never counts as idle in Node: it would hold the shutdown until
 * its headers timeout, so once no request is in flight every connection left is closed.
 */
function appCloser(app: FastifyInstance): () => Promise<void> {
  let inFlight = 0;
  app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    inFlight++;
    // 'close' follows the last byte sent, and a connection lost before it.
    response.once('close', () => inFlight--);
  });
  return async () => {
    const sweep = setInterval(() => {
      if (inFlight === 0) app.server.closeAllConnections();
      else app.server.closeIdleConnections();
    }, IDLE_SWEEP_MS);
    try {
      await app.close();
    } finally {
      clearInterval(sweep);
    }
  };
}

/** The configured limits, or none when rate_limits.enabled is false. */
function rateLimiterFor(config: ResolvedConfig, clock: Clock, isServerAdmin: (userId: string) => Promise<boolean>) {
  const rules = rateLimitRulesFromConfig(config.rate_limits);
  return rules === null ? null : createRateLimiter({ rules, clock, isExempt: isServerAdmin });
}

/** Single sign-on's providers and settings from the config file, around the services it uses. */
function ssoSettings(config: ResolvedConfig, services: Omit<SsoDeps, 'cas' | 'oidc' | 'clientWhitelist' | 'publicBaseUrl'>): SsoDeps {
  const { cas } = config.sso;
  return {
    ...services,
    publicBaseUrl: config.public_baseurl.replace(/\/$/, ''),
    clientWhitelist: config.sso.client_whitelist,
    cas: cas.server_url === null
      ? null
      : {
          id: cas.idp_id,
          name: cas.idp_name,
          brand: cas.idp_brand,
          icon: cas.idp_icon,
          allowExistingUsers: cas.allow_existing_users,
          serverUrl: cas.server_url.replace(/\/$/, ''),
          displayNameAttribute: cas.displayname_attribute,
          requiredAttributes: cas.required_attributes,
        },
    oidc: config.sso.oidc_providers.map((provider) => ({
      id: provider.idp_id,
      name: provider.idp_name,
      brand: provider.idp_brand ?? null,
      icon: provider.idp_icon ?? null,
      allowExistingUsers: provider.allow_existing_users ?? false,
      issuer: provider.issuer,
      clientId: provider.client_id,
      clientSecret: provider.client_secret ?? null,
      clientAuthMethod: provider.client_auth_method ?? (provider.client_secret === undefined ? 'none' : 'client_secret_basic'),
      scopes: provider.scopes ?? ['openid', 'profile'],
      discover: provider.discover ?? true,
      authorizationEndpoint: provider.authorization_endpoint ?? null,
      tokenEndpoint: provider.token_endpoint ?? null,
      userinfoEndpoint: provider.userinfo_endpoint ?? null,
      subjectClaim: provider.subject_claim ?? 'sub',
      localpartClaim: provider.localpart_claim ?? 'preferred_username',
      displayNameClaim: provider.display_name_claim ?? 'name',
    })),
  };
}

/** The PEM text of federation.ca_files; a file that cannot be read stops start-up naming the key. */
async function readCaFiles(files: readonly string[]): Promise<string[]> {
  return Promise.all(files.map(async (file) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`federation.ca_files: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }));
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

/**
 * Creates each application service's own user (sender_localpart) when it does not exist yet: the service
 * acts as it from the start, without registering it (as in Synapse). It has no password and no device.
 */
async function ensureAppServiceUsers(
  services: AppServices,
  store: Pick<AccountStore, 'user' | 'createUser'>,
  nowMs: number,
): Promise<void> {
  for (const service of services.all) {
    if ((await store.user(service.sender)) !== undefined) continue;
    // false: another process created it at the same moment.
    await store.createUser(
      { userId: service.sender, passwordHash: null, createdTs: nowMs, deactivated: false, admin: false, isGuest: false },
      null,
      defaultProfile(service.sender),
    );
  }
}
