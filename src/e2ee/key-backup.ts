import { MatrixError, type UserId } from '../protocol/index.js';
import type { BackedUpRoomKey, BackupVersionRecord, KeyBackupStore, RoomKeyData, RoomKeyScope, RoomKeysState } from './ports.js';

/**
 * Server-side key backups (client-server API, "Server-side key backups"): a user's devices upload their
 * Megolm session keys, encrypted to a backup key only the user holds, and a new device downloads them to
 * read old messages. Hearth never decrypts them; it keeps the versions, counts and etags, and decides which
 * of two uploads of one session's key to keep.
 */

/** The algorithm the spec defines. Others (MSC3270's symmetric backups) are kept as given, as Synapse does. */
export const MEGOLM_BACKUP_V1 = 'm.megolm_backup.v1.curve25519-aes-sha2';

/** Room and session ids are the client's strings; these bounds keep a backup row reasonable. */
export const MAX_ROOM_ID_BYTES = 255;
export const MAX_SESSION_ID_BYTES = 255;

/**
 * The spec's rule for a session already in the backup: the verified key wins, then the one that decrypts
 * from an earlier message, then the one forwarded fewer times. On a tie the stored key stays (no write).
 */
export function replacesStoredKey(stored: RoomKeyData, candidate: RoomKeyData): boolean {
  if (stored.isVerified !== candidate.isVerified) return candidate.isVerified;
  if (stored.firstMessageIndex !== candidate.firstMessageIndex) return candidate.firstMessageIndex < stored.firstMessageIndex;
  return candidate.forwardedCount < stored.forwardedCount;
}

/** Version numbers are opaque strings to clients; Hearth's are decimal integers from 1. */
function parseVersion(version: string): number | undefined {
  if (!/^[1-9][0-9]{0,14}$/.test(version)) return undefined;
  return Number(version);
}

const unknownVersion = () => new MatrixError('M_NOT_FOUND', 'Unknown backup version');

/** The version the key endpoints name in their `version` query parameter, which the spec requires. */
function requiredVersion(version: string | undefined): string {
  if (version === undefined) throw new MatrixError('M_MISSING_PARAM', 'The version query parameter is required: the backup version to use');
  return version;
}

function checkIds(keys: readonly BackedUpRoomKey[]): void {
  for (const key of keys) {
    if (!key.roomId.startsWith('!') || Buffer.byteLength(key.roomId) > MAX_ROOM_ID_BYTES) {
      throw new MatrixError('M_INVALID_PARAM', `'${key.roomId.slice(0, 64)}' is not a room id`);
    }
    if (key.sessionId === '' || Buffer.byteLength(key.sessionId) > MAX_SESSION_ID_BYTES) {
      throw new MatrixError('M_INVALID_PARAM', `Session ids must be 1 to ${MAX_SESSION_ID_BYTES} bytes`);
    }
  }
}

export interface KeyBackupDeps {
  readonly store: KeyBackupStore;
}

/** A version as the client sees it: the number as a string, the etag too. */
export interface BackupVersionInfo {
  readonly version: string;
  readonly algorithm: string;
  /** The client's JSON as given (an object per the spec; any value is kept). */
  readonly authData: unknown;
  readonly count: number;
  readonly etag: string;
}

export interface RoomKeysUpdate {
  readonly count: number;
  readonly etag: string;
}

const versionInfo = (record: BackupVersionRecord): BackupVersionInfo => ({
  version: String(record.version),
  algorithm: record.algorithm,
  authData: record.authData,
  count: record.count,
  etag: String(record.etag),
});

const update = (state: RoomKeysState): RoomKeysUpdate => ({ count: state.count, etag: String(state.etag) });

export function createKeyBackupService(deps: KeyBackupDeps) {
  const { store } = deps;

  async function keys(userId: UserId, version: string | undefined, scope: RoomKeyScope = {}): Promise<BackedUpRoomKey[]> {
    const number = parseVersion(requiredVersion(version));
    const found = number === undefined ? undefined : await store.roomKeys(userId, number, scope);
    if (found === undefined) throw unknownVersion();
    return found;
  }

  return {
    /** POST /room_keys/version: a new backup, which becomes the current one. */
    async createVersion(userId: UserId, algorithm: string, authData: unknown): Promise<string> {
      if (algorithm === '') throw new MatrixError('M_INVALID_PARAM', `algorithm must name the backup algorithm, such as ${MEGOLM_BACKUP_V1}`);
      return String(await store.createBackupVersion(userId, algorithm, authData));
    },

    /** GET /room_keys/version[/{version}]: the named version, or the current one. */
    async version(userId: UserId, version?: string): Promise<BackupVersionInfo> {
      if (version === undefined) {
        const current = await store.backupVersion(userId);
        if (current === undefined) throw new MatrixError('M_NOT_FOUND', 'No current backup version');
        return versionInfo(current);
      }
      const number = parseVersion(version);
      const record = number === undefined ? undefined : await store.backupVersion(userId, number);
      if (record === undefined) throw unknownVersion();
      return versionInfo(record);
    },

    /**
     * PUT /room_keys/version/{version}: only auth_data changes. A `version` in the body must be the path's,
     * and the algorithm must be the backup's.
     */
    async updateVersion(userId: UserId, version: string, body: { algorithm: string; authData: unknown; version?: string | undefined }): Promise<void> {
      if (body.version !== undefined && body.version !== version) {
        throw new MatrixError('M_INVALID_PARAM', `The version in the body (${body.version}) does not match the version in the path (${version})`);
      }
      const number = parseVersion(version);
      const record = number === undefined ? undefined : await store.backupVersion(userId, number);
      if (number === undefined || record === undefined) throw unknownVersion();
      if (record.algorithm !== body.algorithm) {
        throw new MatrixError('M_INVALID_PARAM', `Algorithm does not match: this backup uses ${record.algorithm}`);
      }
      if (!(await store.updateBackupAuthData(userId, number, body.authData))) throw unknownVersion();
    },

    /** DELETE /room_keys/version/{version}: the version and its keys. Deleting it again is no error (the spec). */
    async deleteVersion(userId: UserId, version: string): Promise<void> {
      const number = parseVersion(version);
      const result = number === undefined ? 'unknown' : await store.deleteBackupVersion(userId, number);
      if (result === 'unknown') throw unknownVersion();
    },

    /**
     * PUT /room_keys/keys[/{roomId}[/{sessionId}]]: the keys go into the current version only, all or none;
     * a key for a session already backed up replaces it only when it is better (replacesStoredKey).
     */
    async putKeys(userId: UserId, version: string | undefined, uploaded: readonly BackedUpRoomKey[]): Promise<RoomKeysUpdate> {
      const named = requiredVersion(version);
      checkIds(uploaded);
      // A version that is no number cannot be the current one: the store refuses it like a stale one.
      const result = await store.putRoomKeys(userId, parseVersion(named) ?? 0, uploaded, replacesStoredKey);
      if (result.stored) return update(result);
      if (result.currentVersion === undefined) throw new MatrixError('M_NOT_FOUND', 'No current backup version; create one first');
      throw new MatrixError('M_WRONG_ROOM_KEYS_VERSION', `Wrong backup version: the current one is ${result.currentVersion}`, {
        extra: { current_version: String(result.currentVersion) },
      });
    },

    /** GET /room_keys/keys[/{roomId}]: the keys in the scope, from any version not deleted. */
    keys,

    /** GET /room_keys/keys/{roomId}/{sessionId}: one session's key; M_NOT_FOUND when it is not backed up. */
    async key(userId: UserId, version: string | undefined, roomId: string, sessionId: string): Promise<BackedUpRoomKey> {
      const [key] = await keys(userId, version, { roomId, sessionId });
      if (key === undefined) throw new MatrixError('M_NOT_FOUND', 'No key for this session is in the backup');
      return key;
    },

    /** DELETE /room_keys/keys[/{roomId}[/{sessionId}]]: from any version not deleted. */
    async deleteKeys(userId: UserId, version: string | undefined, scope: RoomKeyScope = {}): Promise<RoomKeysUpdate> {
      const number = parseVersion(requiredVersion(version));
      const state = number === undefined ? undefined : await store.deleteRoomKeys(userId, number, scope);
      if (state === undefined) throw unknownVersion();
      return update(state);
    },
  };
}

export type KeyBackupService = ReturnType<typeof createKeyBackupService>;
