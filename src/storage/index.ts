export { StorageError } from './errors.js';
export { openDatabase, type Database, type DatabaseOptions } from './database.js';
export { EMBEDDED_SETTINGS, openEmbedded, type EmbeddedDatabase, type EmbeddedOptions } from './embedded.js';
export {
  ACCOUNT_DATA_STREAM_LOCK_ID,
  ADVISORY_LOCK_NAMESPACE,
  APPSERVICE_SENDER_LOCK_ID,
  EVENTS_STREAM_LOCK_ID,
  FEDERATION_SENDER_LOCK_ID,
  PEEKS_STREAM_LOCK_ID,
  PUSH_SENDER_LOCK_ID,
  PRESENCE_STREAM_LOCK_ID,
  RECEIPTS_STREAM_LOCK_ID,
  TO_DEVICE_STREAM_LOCK_ID,
  MIGRATION_LOCK_ID,
  defaultMigrationsDir,
  listMigrations,
  migrate,
  schemaStatus,
  type AppliedMigration,
  type Migration,
  type MigrateOptions,
  type MigrateResult,
  type SchemaStatus,
} from './migrate.js';
export { createInstanceRepository, type InstanceInfo, type InstanceRepository } from './instance.js';
export { createRoomStore, roomLockKey, type RoomStoreOptions } from './room-store.js';
export { MAX_DELTA_CHAIN } from './state-groups.js';
export { createAccountsStore } from './accounts-store.js';
export { createLoginTokensStore } from './login-tokens-store.js';
export { createSsoStore } from './sso-store.js';
export { createAdminRoomsStore } from './admin-rooms-store.js';
export { createUserDataStore } from './user-data-store.js';
export { createReceiptsStore } from './receipts-store.js';
export { createPeekStore } from './peeks-store.js';
export { createToDeviceStore } from './to-device-store.js';
export { createPresenceStore } from './presence-store.js';
export { createSyncStore, type SyncStoreOptions } from './sync-store.js';
export { DEFAULT_EVENT_CACHE_SIZE, EventCache } from './event-cache.js';
export { StreamWindow } from './stream-window.js';
export { createDirectoryStore } from './directory-store.js';
export { createReportStore } from './reports-store.js';
export { createUserDirectoryStore } from './user-directory-store.js';
export { createRegistrationTokensStore } from './registration-tokens-store.js';
export { createSearchStore } from './search-store.js';
export { createPushersStore } from './pushers-store.js';
export { createOpenIdStore } from './openid-store.js';
export { createKeyBackupStore } from './key-backup-store.js';
export { createKeysStore } from './keys-store.js';
export { createDeviceListPositions, previousDeviceListPosition } from './device-list-positions.js';
export { createDehydratedDevicesStore } from './dehydrated-devices-store.js';
export { createServerKeysStore } from './server-keys-store.js';
export { createFederationQueueStore } from './federation-queue-store.js';
export { createInboundTransactionStore } from './federation-inbound-store.js';
export { createRemoteDeviceListStore } from './remote-device-lists-store.js';
export { createLeaderLock, type LeaderLock } from './leader-lock.js';
export { createMediaStore } from './media-store.js';
export { createUrlPreviewStore } from './url-preview-store.js';
export { createThreepidBindingStore } from './threepid-bindings-store.js';
export { createAccountThreepidStore } from './account-threepids-store.js';
export { createHierarchyStore } from './hierarchy-store.js';
export { createPushSenderStore } from './push-sender-store.js';
export { createAppServiceStore } from './appservice-store.js';
export { createFileBlobStore } from './media-files.js';
