import type { RemoteDeviceList } from './remote-device-lists.js';

/**
 * The storage send-to-device needs. src/storage/to-device-store.ts implements it on PostgreSQL (both
 * engines); server.ts wires the notifier to the bus (src/platform/stream-notices.ts).
 */

/** One message of a request: to one device of a local user, or to all of them ('*'). */
export interface ToDeviceMessage {
  readonly userId: string;
  readonly deviceId: string;
  readonly content: Readonly<Record<string, unknown>>;
}

/** Who sent a request, and its transaction id (the spec scopes transaction ids to the sending device). */
export interface ToDeviceTransaction {
  readonly sender: string;
  readonly senderDeviceId: string;
  readonly txnId: string;
  readonly ts: number;
}

export interface QueuedToDevice {
  readonly position: number;
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
}

export interface ToDeviceStore {
  /**
   * Queues the messages for the devices they name ('*': every device the user has; a named device wins
   * over '*'), unknown devices skipped, all at one new position. null when the transaction was seen before:
   * nothing is queued twice. Otherwise the position and the users with a message queued.
   */
  queueToDevice(txn: ToDeviceTransaction, type: string, messages: readonly ToDeviceMessage[]): Promise<{ position: number; recipients: string[] } | null>;
  /** The device's queued messages above `since` up to `upTo`, oldest first, at most `limit`. */
  toDeviceMessages(userId: string, deviceId: string, since: number, upTo: number, limit: number): Promise<QueuedToDevice[]>;
  /** Deletes the device's messages at or below `upTo` (the client has them). */
  deleteToDeviceMessages(userId: string, deviceId: string, upTo: number): Promise<void>;
  toDeviceStreamPosition(): Promise<number>;
}

/** Told of every new to-device position, with the recipients (the same shape as src/ephemeral's). */
export type ToDeviceNotifier = (notice: { readonly position: number; readonly users: readonly string[] }) => void;

/**
 * Server-side key backups (src/storage/key-backup-store.ts, on migrations/0016_key_backup.sql). Versions
 * count up per user and are never reused; the current version is the user's highest one not deleted.
 */

/** A backup version as the client sees it: `count` keys, `etag` bumped whenever they change. */
export interface BackupVersionRecord {
  readonly version: number;
  readonly algorithm: string;
  readonly authData: unknown;
  readonly etag: number;
  readonly count: number;
}

/** What the server compares between two uploads of one session's key, and the encrypted rest. */
export interface RoomKeyData {
  readonly firstMessageIndex: number;
  readonly forwardedCount: number;
  readonly isVerified: boolean;
  /** The client's encrypted data as given (an object per the spec; any JSON value is kept). */
  readonly sessionData: unknown;
}

export interface BackedUpRoomKey extends RoomKeyData {
  readonly roomId: string;
  readonly sessionId: string;
}

/** Which keys to read or delete: the whole backup, one room's, or one session's. */
export interface RoomKeyScope {
  readonly roomId?: string | undefined;
  readonly sessionId?: string | undefined;
}

/** After a write: the version's key count and etag. */
export interface RoomKeysState {
  readonly count: number;
  readonly etag: number;
}

/** An upload either lands in the current version or is refused, naming the current one (none: no backup). */
export type PutRoomKeysResult =
  | ({ readonly stored: true } & RoomKeysState)
  | { readonly stored: false; readonly currentVersion: number | undefined };

export interface KeyBackupStore {
  /** Creates the user's next version (one above any they ever had) and returns its number. */
  createBackupVersion(userId: string, algorithm: string, authData: unknown): Promise<number>;
  /** The version, or the current one when none is named; undefined when it does not exist or was deleted. */
  backupVersion(userId: string, version?: number): Promise<BackupVersionRecord | undefined>;
  /** Replaces a version's auth_data; false when it does not exist or was deleted. */
  updateBackupAuthData(userId: string, version: number, authData: unknown): Promise<boolean>;
  /** Marks the version deleted and deletes its keys. */
  deleteBackupVersion(userId: string, version: number): Promise<'deleted' | 'already-deleted' | 'unknown'>;
  /**
   * In one transaction, if `version` is the current one: stores each key whose session has none yet, or
   * whose stored key `replaces(stored, candidate)` says to give up, and bumps the etag if any was written.
   */
  putRoomKeys(
    userId: string,
    version: number,
    keys: readonly BackedUpRoomKey[],
    replaces: (stored: RoomKeyData, candidate: RoomKeyData) => boolean,
  ): Promise<PutRoomKeysResult>;
  /** The version's keys in the scope, ordered by room and session; undefined when the version does not exist or was deleted. */
  roomKeys(userId: string, version: number, scope: RoomKeyScope): Promise<BackedUpRoomKey[] | undefined>;
  /** Deletes the version's keys in the scope, bumping the etag if any went; undefined when the version does not exist or was deleted. */
  deleteRoomKeys(userId: string, version: number, scope: RoomKeyScope): Promise<RoomKeysState | undefined>;
}

/** One-time or fallback key of a device, as uploaded. */
export interface UploadedKey {
  readonly algorithm: string;
  readonly keyId: string;
  /** The key: a string (curve25519) or a signed object (signed_curve25519). */
  readonly key: unknown;
}

/** What POST /keys/upload stores for one device, in one transaction. */
export interface KeysUpload {
  readonly userId: string;
  readonly deviceId: string;
  /** Already checked (src/e2ee/key-json.ts); replaces what the device had. */
  readonly deviceKeys?: Readonly<Record<string, unknown>>;
  readonly oneTimeKeys: readonly UploadedKey[];
  /** At most one per algorithm; replaces the device's fallback key of that algorithm. */
  readonly fallbackKeys: readonly UploadedKey[];
}

/** A device with the keys it published, for /keys/query. */
export interface PublishedDevice {
  readonly userId: string;
  readonly deviceId: string;
  readonly displayName: string | null;
  readonly keys: Record<string, unknown>;
}

export interface ClaimRequest {
  readonly userId: string;
  readonly deviceId: string;
  readonly algorithm: string;
}

export interface ClaimedKey extends ClaimRequest {
  readonly keyId: string;
  readonly key: unknown;
}

export interface StoredCrossSigningKey {
  readonly userId: string;
  readonly type: 'master' | 'self_signing' | 'user_signing';
  readonly publicKey: string;
  readonly json: Record<string, unknown>;
}

/** A signature kept apart from the object it signs (POST /keys/signatures/upload). */
export interface StoredSignature {
  readonly targetUserId: string;
  /** A device id, or a cross-signing public key. */
  readonly targetKeyId: string;
  readonly signerUserId: string;
  /** As in a signatures object: "ed25519:<device id or public key>". */
  readonly signerKeyId: string;
  readonly signature: string;
}

/** A change on the device-list stream: `userId`'s devices or keys changed (for `onlyFor` alone, when set). */
export interface DeviceListChange {
  readonly userId: string;
  readonly onlyFor?: string;
}

export interface KeyStore {
  /**
   * Stores an upload in one transaction. A one-time key whose id the device already has with other
   * content refuses the whole upload (`conflict` names it; nothing is written); the same key again is
   * ignored. Changed device keys are recorded on the device-list stream. Returns the device's unclaimed
   * one-time keys per algorithm, and the device-list position when one was recorded.
   */
  uploadKeys(upload: KeysUpload): Promise<{ counts: Record<string, number>; position: number | null } | { conflict: UploadedKey }>;
  /** The device's identity keys as uploaded, if any. */
  deviceKeys(userId: string, deviceId: string): Promise<Record<string, unknown> | undefined>;
  /**
   * Per algorithm, the device's unclaimed one-time keys; and the algorithms of its fallback keys that no
   * claim has handed out yet.
   */
  keyCounts(userId: string, deviceId: string): Promise<{ counts: Record<string, number>; unusedFallbackTypes: string[] }>;
  /** The devices with published keys of the users (all of a user's devices, or those listed). */
  publishedDevices(query: ReadonlyMap<string, readonly string[] | 'all'>): Promise<PublishedDevice[]>;
  /** Claims, per request, the oldest one-time key, else the fallback key (marked used). Each one-time key once. */
  claimKeys(requests: readonly ClaimRequest[]): Promise<ClaimedKey[]>;
  crossSigningKeys(userIds: readonly string[]): Promise<StoredCrossSigningKey[]>;
  /**
   * Stores the user's new cross-signing keys (one per type given) and records the change on the
   * device-list stream, in one transaction. Returns the position.
   */
  putCrossSigningKeys(userId: string, keys: readonly StoredCrossSigningKey[], change: DeviceListChange): Promise<number>;
  /** The stored signatures on these targets (user id, key id). */
  signaturesOn(targets: ReadonlyArray<readonly [string, string]>): Promise<StoredSignature[]>;
  /** Adds the signatures (replacing one by the same signer key) and records the changes, in one transaction. */
  addSignatures(signatures: readonly StoredSignature[], changes: readonly DeviceListChange[]): Promise<number>;
  /** The device ids the user has (with keys or not): cross-signing keys must not collide with them. */
  deviceIds(userId: string): Promise<string[]>;
}

/** Told of every new device-list position, with the user whose devices changed. */
export type DeviceListNotifier = (notice: { readonly position: number; readonly users: readonly string[]; readonly rooms: readonly string[] }) => void;

/**
 * Dehydrated devices (MSC3814; src/storage/dehydrated-devices-store.ts, on
 * migrations/0017_dehydrated_devices.sql): at most one per user, a row in `devices` with no access token.
 */
export interface DehydratedDeviceRecord {
  readonly deviceId: string;
  /** The client's encrypted device data, as uploaded. */
  readonly deviceData: Readonly<Record<string, unknown>>;
}

export interface NewDehydratedDevice extends DehydratedDeviceRecord {
  readonly displayName: string | null;
}

export interface DehydratedDeviceStore {
  dehydratedDevice(userId: string): Promise<DehydratedDeviceRecord | undefined>;
  /**
   * In one transaction: deletes the user's dehydrated device (with its keys and queued to-device
   * messages), creates the new one, publishes its keys and records the device-list change. 'in-use'
   * when the id names another of the user's devices: nothing is written then. Otherwise the device-list
   * position.
   */
  replaceDehydratedDevice(
    userId: string,
    device: NewDehydratedDevice,
    keys: Pick<KeysUpload, 'deviceKeys' | 'oneTimeKeys' | 'fallbackKeys'>,
    nowMs: number,
  ): Promise<{ position: number } | 'in-use'>;
  /**
   * Deletes the user's dehydrated device (only if it is `deviceId`, when given) with its keys and
   * messages; undefined when there was none (or another one).
   */
  deleteDehydratedDevice(userId: string, deviceId?: string): Promise<{ deviceId: string; position: number } | undefined>;
}

/**
 * Remote users' kept device lists (src/e2ee/remote-device-lists.ts); src/storage/remote-device-lists-store.ts
 * implements it on migrations/0022_remote_device_lists.sql.
 */
export interface RemoteDeviceListStore {
  /**
   * For each user: whether they share a room with a local user now (both joined), and the kept copy if
   * any, with `continuous` true when a local user has shared a room with them without a break since the
   * copy was fetched (so their server has been sending us its updates).
   */
  remoteDeviceLists(userIds: readonly string[], localServer: string): Promise<Map<string, RemoteDeviceListRow>>;
  /** Keeps a freshly fetched list (not stale; fetched now, at the events stream's current position). */
  putFetched(userId: string, list: RemoteDeviceList, nowTs: number): Promise<void>;
  /** Keeps the list with an update applied (same fetch position). */
  putUpdated(userId: string, list: RemoteDeviceList, nowTs: number): Promise<void>;
  /** Marks the kept list stale: the next query fetches it again. */
  markStale(userId: string): Promise<void>;
  /** Forgets the kept list. */
  forget(userId: string): Promise<void>;
}

export interface RemoteDeviceListRow {
  readonly shared: boolean;
  readonly kept?: { readonly list: RemoteDeviceList; readonly stale: boolean; readonly continuous: boolean };
}
