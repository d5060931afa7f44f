export { StorageError } from './errors.js';
export { openDatabase, type Database, type DatabaseOptions } from './database.js';
export { EMBEDDED_SETTINGS, openEmbedded, type EmbeddedDatabase, type EmbeddedOptions } from './embedded.js';
export {
  ACCOUNT_DATA_STREAM_LOCK_ID,
  ADVISORY_LOCK_NAMESPACE,
  EVENTS_STREAM_LOCK_ID,
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
export { createUserDataStore } from './user-data-store.js';
