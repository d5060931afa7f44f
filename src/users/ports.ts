import type { DeviceId, UserId } from '../protocol/index.js';

/**
 * The storage the accounts service needs. src/storage/accounts-store.ts implements it on PostgreSQL (both
 * engines); nothing here sees SQL. Tokens reach the store only as hashes.
 */

export interface UserRecord {
  readonly userId: UserId;
  /** null: the account has no password and cannot log in with one. */
  readonly passwordHash: string | null;
  readonly createdTs: number;
  readonly deactivated: boolean;
  readonly admin: boolean;
  readonly isGuest: boolean;
}

/** Who an access token speaks for. */
export interface Requester {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly isGuest: boolean;
}

/** A device to create (or take over) together with a new access token for it. */
export interface NewDeviceSession {
  readonly deviceId: DeviceId;
  /** The name of a new device; an existing device keeps its name. */
  readonly displayName: string | null;
  readonly tokenHash: string;
}

export interface AccountStore {
  user(userId: UserId): Promise<UserRecord | undefined>;
  /**
   * Creates the user with its profile and, unless `session` is null, its first device and access token,
   * in one transaction. false when the user id is taken (deactivated accounts included); nothing is written then.
   */
  createUser(user: UserRecord, session: NewDeviceSession | null, profile: Profile): Promise<boolean>;
  /**
   * Creates the device, or takes over an existing one of the user's (revoking its old tokens, as the spec
   * asks of a login that names a known device), and stores the new token.
   */
  startDeviceSession(userId: UserId, session: NewDeviceSession, nowMs: number): Promise<void>;
  /** The owner of a live token; undefined for an unknown token or a deactivated account. */
  requester(tokenHash: string): Promise<Requester | undefined>;
  /** Deletes the device and every token of it. */
  deleteDevice(userId: UserId, deviceId: DeviceId): Promise<void>;
  /** Deletes every device and token of the user. */
  deleteAllDevices(userId: UserId): Promise<void>;
}

export interface UiaSessionRecord {
  readonly sessionId: string;
  readonly operation: string;
  readonly completed: readonly string[];
  readonly createdTs: number;
}

export interface UiaStore {
  createUiaSession(session: UiaSessionRecord): Promise<void>;
  uiaSession(sessionId: string): Promise<UiaSessionRecord | undefined>;
  setUiaCompleted(sessionId: string, completed: readonly string[]): Promise<void>;
  /** Forgets sessions created before `beforeMs`. */
  deleteUiaSessionsBefore(beforeMs: number): Promise<void>;
}

export interface RegistrationNonceStore {
  addRegistrationNonce(nonce: string, nowMs: number): Promise<void>;
  /** Deletes the nonce and returns when it was made; undefined if it is unknown or already used. */
  takeRegistrationNonce(nonce: string): Promise<number | undefined>;
  deleteRegistrationNoncesBefore(beforeMs: number): Promise<void>;
}

/** A local user's profile; null is an unset field. */
export interface Profile {
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}

/** The rooms a profile change is copied into (the room server, wired in server.ts). */
export interface ProfileRooms {
  /** The rooms whose current state has the user joined. */
  joinedRooms(userId: UserId): Promise<readonly string[]>;
  /**
   * Sends a new join member event for the user carrying `profile` (displayname, avatar_url); refuses
   * (throws) if the user is no longer joined when the room's write lock is taken.
   */
  refreshMemberProfile(roomId: string, userId: UserId, profile: Readonly<Record<string, string>>): Promise<void>;
}

export interface ProfileStore {
  /** undefined: no such local user. */
  profile(userId: UserId): Promise<Profile | undefined>;
  /** Sets one field (null unsets it). */
  setProfileField(userId: UserId, field: keyof Profile, value: string | null): Promise<void>;
}

/** One piece of account data; roomId is null for global account data. */
export interface AccountDataChange {
  readonly roomId: string | null;
  readonly type: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly streamPosition: number;
}

export interface AccountDataStore {
  /** Stores the content and moves it to a new position on the account-data stream, which is returned. */
  putAccountData(userId: UserId, roomId: string | null, type: string, content: Readonly<Record<string, unknown>>): Promise<number>;
  accountData(userId: UserId, roomId: string | null, type: string): Promise<Readonly<Record<string, unknown>> | undefined>;
  /** The user's account data written after `since`, in stream order (for /sync). */
  accountDataSince(userId: UserId, since: number): Promise<AccountDataChange[]>;
  /** The highest position on the account-data stream. */
  accountDataStreamPosition(): Promise<number>;
}

export interface FilterStore {
  /** Stores the filter (canonical JSON) and returns its id; the same JSON again gets the same id. */
  addFilter(userId: UserId, canonicalJson: string): Promise<string>;
  /** The stored JSON, or undefined. */
  filter(userId: UserId, filterId: string): Promise<string | undefined>;
}
