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
  /** Locked by a server admin: every request but logout is refused (M_USER_LOCKED). Absent: not locked. */
  readonly locked?: boolean;
  /** Suspended by a server admin: joining, inviting, sending and profile changes are refused (M_USER_SUSPENDED). */
  readonly suspended?: boolean;
}

/** Which accounts the admin API's list shows. */
export interface UserListQuery {
  readonly from: number;
  readonly limit: number;
  readonly guests: boolean;
  readonly deactivated: boolean;
  /** Part of the user id or display name (case-insensitive). */
  readonly name?: string;
  /** Part of the user id (case-insensitive). */
  readonly userId?: string;
}

export interface ListedUser extends Omit<UserRecord, 'passwordHash'> {
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}

/** Who an access token speaks for. */
export interface Requester {
  readonly userId: UserId;
  /**
   * The device the request acts for. null only for an application service acting for a user without
   * naming a device (its `device_id` query parameter): requests that need a device refuse it (deviceOf).
   */
  readonly deviceId: DeviceId | null;
  readonly isGuest: boolean;
  /** The account is locked (account moderation): only logout may go through. Absent: not locked. */
  readonly locked?: boolean;
  /** The account is suspended (account moderation): requests that act in rooms or on the profile are refused. */
  readonly suspended?: boolean;
  /**
   * The application service whose as_token made the request (absent for users' own tokens), and whether
   * the request is rate limited: never for the service's own user, for the others as its registration says.
   */
  readonly appservice?: { readonly id: string; readonly rateLimited: boolean };
}

/**
 * The application services' user namespaces, as registration and login need them (src/appservice
 * implements it).
 */
export interface AppServiceNamespaces {
  /** The id of a service that claims this user exclusively: nobody else may register it. */
  exclusiveOwner(userId: UserId): string | undefined;
  /** Whether the service may create, log in and act for this user. */
  owns(serviceId: string, userId: UserId): boolean;
}

/** A device to create (or take over) together with a new access token for it. */
export interface NewDeviceSession {
  readonly deviceId: DeviceId;
  /** The name of a new device; an existing device keeps its name. */
  readonly displayName: string | null;
  readonly tokenHash: string;
  /** When the access token stops working; null: never (no refresh token was asked for). */
  readonly expiresTs?: number | null;
  /** The refresh token issued with the access token; null or absent: none. */
  readonly refreshTokenHash?: string | null;
}

/** What the store knows of a live access token (a deactivated account's tokens are not live). */
export interface TokenRecord extends Omit<Requester, 'deviceId' | 'appservice'> {
  /** A user's own token always belongs to a device. */
  readonly deviceId: DeviceId;
  /** null: the token does not expire. */
  readonly expiresTs: number | null;
  /** The token came from POST /refresh and this is its first use. */
  readonly refreshPending: boolean;
  readonly lastSeenTs: number | null;
  readonly lastSeenIp: string | null;
}

/** A device as GET /devices shows it (and GET /admin/whois, with the user agent). */
export interface DeviceRecord {
  readonly deviceId: DeviceId;
  readonly displayName: string | null;
  readonly lastSeenTs: number | null;
  readonly lastSeenIp: string | null;
  readonly lastSeenUserAgent?: string | null;
}

export interface AccountStore {
  user(userId: UserId): Promise<UserRecord | undefined>;
  /** Accounts in user id order, a page at a time, with their profiles (the admin API's list). */
  listUsers(query: UserListQuery): Promise<{ readonly users: ListedUser[]; readonly total: number }>;
  /**
   * Creates the user with its profile and, unless `session` is null, its first device and access token,
   * in one transaction. false when the user id is taken (deactivated accounts included); nothing is written then.
   * With `identity` (single sign-on), the account is linked to it in the same transaction; false as well when
   * the identity is linked already (another sign-in of the same person won a race).
   */
  createUser(user: UserRecord, session: NewDeviceSession | null, profile: Profile, identity?: ExternalIdentity): Promise<boolean>;
  /** The next number for a guest's localpart (a database sequence, so every process draws its own). */
  nextGuestNumber(): Promise<number>;
  /**
   * Creates the device, or takes over an existing one of the user's (revoking its old tokens, as the spec
   * asks of a login that names a known device), and stores the new token.
   */
  startDeviceSession(userId: UserId, session: NewDeviceSession, nowMs: number): Promise<number | null>;
  /** A live token; undefined for an unknown token or a deactivated account. */
  accessToken(tokenHash: string): Promise<TokenRecord | undefined>;
  /** The first use of a token from POST /refresh: the refresh token it was obtained with stops working. */
  confirmRefresh(tokenHash: string): Promise<void>;
  /** Records where, when and with what client the device was last seen (null: unknown, the old value stays). */
  touchDevice(userId: UserId, deviceId: DeviceId, nowMs: number, ip: string | null, userAgent?: string | null): Promise<void>;
  /**
   * POST /refresh: a new access token (and refresh token) for the device of the refresh token, which
   * stays valid until its successor is used; undefined when the refresh token is unknown or revoked,
   * 'locked' (and nothing written) when its account is locked.
   */
  refreshSession(
    refreshTokenHash: string,
    next: { readonly tokenHash: string; readonly refreshTokenHash: string; readonly expiresTs: number },
    nowMs: number,
  ): Promise<{ readonly userId: UserId; readonly deviceId: DeviceId } | 'locked' | undefined>;
  devices(userId: UserId): Promise<DeviceRecord[]>;
  device(userId: UserId, deviceId: DeviceId): Promise<DeviceRecord | undefined>;
  /*
   * startDeviceSession and the writes below that rename or remove devices return the device-list position
   * they recorded (clients watching the user's devices look again), or null when they changed no device.
   */
  /** found: false when the user has no such device. */
  setDeviceDisplayName(userId: UserId, deviceId: DeviceId, displayName: string): Promise<{ found: boolean; position: number | null }>;
  /**
   * A device without an access token (an application service's for one of its users, Matrix 1.17); the
   * device-list position of its arrival, or null when the user already had it (nothing changes then).
   */
  createDevice(userId: UserId, deviceId: DeviceId, displayName: string | null, nowMs: number): Promise<number | null>;
  /** Deletes the device and every token and key of it. */
  deleteDevice(userId: UserId, deviceId: DeviceId): Promise<number | null>;
  /** Deletes the devices (and their tokens and keys); ids the user does not have are ignored. */
  deleteDevices(userId: UserId, deviceIds: readonly DeviceId[]): Promise<number | null>;
  /** Deletes every device, token and device key of the user. */
  deleteAllDevices(userId: UserId): Promise<number | null>;
  /** Sets the password hash and, unless `logoutExcept` is undefined, deletes every other device, in one transaction. */
  setPassword(userId: UserId, passwordHash: string, logoutExcept: DeviceId | undefined): Promise<number | null>;
  /**
   * Marks the account deactivated (and erased, with `erase`), deletes every device and token and clears the
   * profile, in one transaction. The row stays, so the user id is never handed out again.
   */
  deactivateUser(userId: UserId, erase?: boolean): Promise<number | null>;
  /** Every account deactivated with erasure. */
  erasedUsers(): Promise<UserId[]>;
  /**
   * Turns the guest into a full account with this password and, unless `session` is null, starts a new
   * device for it, in one transaction. false when the user is not (or no longer) a live guest.
   */
  upgradeGuest(userId: UserId, passwordHash: string, session: NewDeviceSession | null, nowMs: number): Promise<boolean>;
  /**
   * Locks or unlocks, suspends or unsuspends the account (what `change` names; the rest stays). false when
   * there is no such account or it is deactivated. Its tokens keep working, with the new state.
   */
  setModeration(userId: UserId, change: { readonly locked?: boolean; readonly suspended?: boolean }): Promise<boolean>;
  /** Makes the account a server admin, or no longer one. */
  setAdmin(userId: UserId, admin: boolean): Promise<void>;
}

/** A person as an external identity provider knows them (single sign-on): the provider's id and its name for them. */
export interface ExternalIdentity {
  readonly provider: string;
  readonly subject: string;
}

/** A single sign-on under way: for a client's login (redirectUrl) or to confirm an operation (a UIA session). */
export type SsoSignIn = (
  | { readonly redirectUrl: string; readonly uiaSession?: undefined }
  | { readonly uiaSession: string; readonly redirectUrl?: undefined }
) & {
  readonly provider: string;
  /** OpenID Connect's PKCE code verifier, sent with the code to the token endpoint. */
  readonly codeVerifier: string | null;
};

/** Single sign-on's accounts and sign-ins (src/users/sso/), on migrations/0037_sso.sql. */
export interface SsoStore {
  /** The account an identity signs in as, if it has one. */
  userOfIdentity(identity: ExternalIdentity): Promise<UserId | undefined>;
  /** The identities an account signs in with. */
  identitiesOf(userId: UserId): Promise<ExternalIdentity[]>;
  /** Links the identity to an existing account; false when it is linked already (to any account). */
  linkIdentity(identity: ExternalIdentity, userId: UserId, nowMs: number): Promise<boolean>;
  /** Remembers a sign-in under the hash of its state until its answer comes back (takeSignIn). */
  addSignIn(stateHash: string, signIn: SsoSignIn, nowMs: number): Promise<void>;
  /** The sign-in begun with this state since `sinceMs`, forgotten as it is read: a state works once. */
  takeSignIn(stateHash: string, sinceMs: number): Promise<SsoSignIn | undefined>;
  deleteSignInsBefore(beforeMs: number): Promise<void>;
}

/** Single-use login tokens (POST /login/get_token), kept as hashes. */
export interface LoginTokenStore {
  addLoginToken(tokenHash: string, userId: UserId, createdTs: number, expiresTs: number): Promise<void>;
  /**
   * Deletes the token and returns whose it was, if it is unexpired at `nowMs` and its account is not
   * deactivated; undefined otherwise. Two logins racing for one token: one gets it.
   */
  takeLoginToken(tokenHash: string, nowMs: number): Promise<UserId | undefined>;
  deleteLoginTokensBefore(beforeMs: number): Promise<void>;
}

/** The rooms a deactivated account leaves (the room server, wired in server.ts). */
export interface AccountRooms {
  /** The rooms where the user's current membership is `membership`. */
  roomsWithMembership(userId: UserId, membership: 'join' | 'invite' | 'knock'): Promise<readonly string[]>;
  /** Sends the user's leave event (rejects an invite, rescinds a knock). */
  leave(roomId: string, userId: UserId): Promise<unknown>;
}

export interface UiaSessionRecord {
  readonly sessionId: string;
  readonly operation: string;
  readonly completed: readonly string[];
  readonly createdTs: number;
  /** The operation's parameters, remembered from the request that gave them (secrets only hashed). */
  readonly params?: Readonly<Record<string, unknown>> | null;
  /** What the completed operation produced (a registered user id), so a repeat answers the same. */
  readonly result?: string | null;
  /** The operation's flows (for the fallback pages); null for sessions from before they were kept. */
  readonly flows?: ReadonlyArray<readonly string[]> | null;
  /** Whose password the session's m.login.password stage checks; null when none does. */
  readonly subject?: string | null;
  /** Why the operation is refused for good (a stage was done as someone else); null while it is not. */
  readonly refused?: string | null;
}

/** A registration token (Synapse's admin API shape, in camelCase). */
export interface RegistrationTokenRecord {
  readonly token: string;
  /** null: unlimited. */
  readonly usesAllowed: number | null;
  readonly pending: number;
  readonly completed: number;
  /** ms since the epoch; null: never expires. */
  readonly expiryTime: number | null;
}

export interface RegistrationTokenStore {
  /** false when the token exists already. */
  createRegistrationToken(token: string, usesAllowed: number | null, expiryTime: number | null): Promise<boolean>;
  /** All tokens; with `valid`, only those usable (true) or unusable (false) at `nowMs`. */
  registrationTokens(valid: boolean | undefined, nowMs: number): Promise<RegistrationTokenRecord[]>;
  registrationToken(token: string): Promise<RegistrationTokenRecord | undefined>;
  /** Changes the given fields; undefined when there is no such token. */
  updateRegistrationToken(
    token: string,
    changes: { readonly usesAllowed?: number | null; readonly expiryTime?: number | null },
  ): Promise<RegistrationTokenRecord | undefined>;
  /** false when there was no such token. */
  deleteRegistrationToken(token: string): Promise<boolean>;
  /**
   * If the token is usable at `nowMs`, counts it pending and ties it to the UIA session, in one
   * transaction; false otherwise. A session that already holds this token succeeds without counting again.
   */
  reserveRegistrationToken(sessionId: string, token: string, nowMs: number): Promise<boolean>;
  /** The registration of the session finished: its token (if any) moves from pending to completed. */
  completeRegistrationToken(sessionId: string): Promise<void>;
}

export interface UiaStore {
  createUiaSession(session: UiaSessionRecord): Promise<void>;
  uiaSession(sessionId: string): Promise<UiaSessionRecord | undefined>;
  setUiaCompleted(sessionId: string, completed: readonly string[]): Promise<void>;
  setUiaParams(sessionId: string, params: Readonly<Record<string, unknown>>): Promise<void>;
  setUiaResult(sessionId: string, result: string): Promise<void>;
  /** Marks the session refused, with why: its operation is refused from then on. */
  refuseUiaSession(sessionId: string, reason: string): Promise<void>;
  /** Deletes the session; false when it was already gone (another request took it). */
  takeUiaSession(sessionId: string): Promise<boolean>;
  /** Forgets sessions created before `beforeMs` (a registration token they held is no longer pending). */
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

/** OpenID tokens (POST /user/{userId}/openid/request_token), kept as hashes. */
export interface OpenIdTokenStore {
  addOpenIdToken(tokenHash: string, userId: UserId, expiresTs: number): Promise<void>;
  /** Whose the token is, if it is unexpired at `nowMs` and its account not deactivated. */
  openIdTokenOwner(tokenHash: string, nowMs: number): Promise<UserId | undefined>;
  deleteOpenIdTokensBefore(beforeMs: number): Promise<void>;
}
