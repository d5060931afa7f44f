import type { Clock, Random } from '../platform/clock.js';
import {
  MatrixError,
  isValidNewLocalpart,
  makeUserId,
  parseDeviceId,
  parseUserId,
  userIdLocalpart,
  userIdServer,
  type DeviceId,
  type ServerName,
  type UserId,
} from '../protocol/index.js';
import type { PasswordHasher } from './passwords.js';
import { defaultProfile } from './profiles.js';
import type { AccountStore, Requester } from './ports.js';
import { hashAccessToken, lettersFrom, newAccessToken, newDeviceId } from './tokens.js';
import type { AuthDict, Flow, Uia } from './uia.js';

/** Accounts: registration, login, logout and access-token lookup for this server's users. */

export interface AccountDeps {
  readonly store: AccountStore;
  readonly uia: Uia;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
  readonly random: Random;
  readonly serverName: ServerName;
  /** Open self-service registration (POST /register); shared-secret registration works either way. */
  readonly enableRegistration: boolean;
}

export interface RegisterRequest {
  readonly kind: 'user' | 'guest';
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly deviceId?: string | undefined;
  readonly initialDeviceDisplayName?: string | undefined;
  readonly inhibitLogin?: boolean | undefined;
  readonly auth?: AuthDict | undefined;
}

export interface LoginRequest {
  readonly type: string;
  readonly identifier?: { readonly type: string; readonly user?: string | undefined } | undefined;
  /** Deprecated top-level form of identifier { type: m.id.user, user }. */
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly deviceId?: string | undefined;
  readonly initialDeviceDisplayName?: string | undefined;
}

/** A new device session: what register and login answer. */
export interface Session {
  readonly userId: UserId;
  readonly accessToken: string;
  readonly deviceId: DeviceId;
}

export interface NewAccount {
  readonly localpart: string;
  readonly password: string | null;
  readonly admin: boolean;
  /** null: no device and no token (inhibit_login). */
  readonly device: { readonly deviceId: string | undefined; readonly displayName: string | null } | null;
  /** The profile's display name; the localpart when absent or empty. */
  readonly displayName?: string | undefined;
}

export const REGISTER_FLOWS: readonly Flow[] = [['m.login.dummy']];
export const LOGIN_TYPES: readonly string[] = ['m.login.password'];

const GENERATED_LOCALPART_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function createAccountService(deps: AccountDeps) {
  const { store, uia, passwords, clock, random, serverName } = deps;
  let dummyHash: Promise<string> | undefined;

  /** The localpart a requested username stands for, or M_INVALID_USERNAME saying why not. */
  function localpartFor(username: string): string {
    const localpart = username.toLowerCase();
    if (localpart === '') throw new MatrixError('M_INVALID_USERNAME', 'The username is empty');
    if (!isValidNewLocalpart(localpart)) {
      throw new MatrixError('M_INVALID_USERNAME', 'Usernames may only contain a-z, 0-9 and . _ = - / +');
    }
    if (localpart.startsWith('_')) {
      throw new MatrixError('M_INVALID_USERNAME', 'Usernames starting with _ are reserved for bridges');
    }
    if (/^[0-9]+$/.test(localpart)) throw new MatrixError('M_INVALID_USERNAME', 'Numeric usernames are reserved for guests');
    if (!isValidNewLocalpart(localpart, serverName)) {
      throw new MatrixError('M_INVALID_USERNAME', 'The username is too long: a user ID is at most 255 bytes');
    }
    return localpart;
  }

  async function ensureAvailable(localpart: string): Promise<void> {
    if (await store.user(makeUserId(localpart, serverName))) {
      throw new MatrixError('M_USER_IN_USE', 'This username is taken; choose another');
    }
  }

  function ensureRegistrationEnabled(): void {
    if (!deps.enableRegistration) throw new MatrixError('M_FORBIDDEN', 'Registration is disabled on this server');
  }

  function deviceSession(deviceId: string | undefined, displayName: string | null) {
    const token = newAccessToken(random);
    const id = deviceId === undefined ? newDeviceId(random) : parseDeviceId(deviceId);
    return { token, session: { deviceId: id, displayName, tokenHash: hashAccessToken(token) } };
  }

  /** Creates the account (and its first device unless `device` is null); no policy checks. */
  async function createAccount(account: NewAccount): Promise<{ userId: UserId; accessToken?: string; deviceId?: DeviceId }> {
    const userId = makeUserId(account.localpart, serverName);
    const passwordHash = account.password === null ? null : await passwords.hash(account.password);
    const device = account.device && deviceSession(account.device.deviceId, account.device.displayName);
    const profile = account.displayName ? { ...defaultProfile(userId), displayName: account.displayName } : defaultProfile(userId);
    const created = await store.createUser(
      { userId, passwordHash, createdTs: clock.now(), deactivated: false, admin: account.admin, isGuest: false },
      device?.session ?? null,
      profile,
    );
    if (!created) throw new MatrixError('M_USER_IN_USE', 'This username is taken; choose another');
    return device ? { userId, accessToken: device.token, deviceId: device.session.deviceId } : { userId };
  }

  /** A user id to stand in for a missing username; retried on the (unlikely) clash. */
  async function generatedLocalpart(): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const localpart = lettersFrom(random, GENERATED_LOCALPART_ALPHABET, 12);
      if (/^[0-9]+$/.test(localpart)) continue;
      if (!(await store.user(makeUserId(localpart, serverName)))) return localpart;
    }
    throw new MatrixError('M_UNKNOWN', 'Could not pick a free username; choose one', { status: 500 });
  }

  /** Who a login identifier names, or undefined when it names no possible local user. */
  function userIdFromIdentifier(request: LoginRequest): UserId | undefined {
    let user: string | undefined;
    if (request.identifier !== undefined) {
      if (request.identifier.type !== 'm.id.user') {
        throw new MatrixError('M_UNKNOWN', `Unknown identifier type ${request.identifier.type}; use m.id.user`);
      }
      user = request.identifier.user;
    } else {
      user = request.user;
    }
    if (user === undefined) throw new MatrixError('M_MISSING_PARAM', 'identifier.user is required');
    if (user.startsWith('@')) {
      let userId: UserId;
      try {
        userId = parseUserId(user);
      } catch {
        return undefined;
      }
      if (userIdServer(userId) !== serverName) return undefined;
      user = userIdLocalpart(userId);
    }
    const localpart = user.toLowerCase();
    return isValidNewLocalpart(localpart, serverName) && localpart !== '' ? makeUserId(localpart, serverName) : undefined;
  }

  return {
    /** POST /register: policy, then user-interactive auth, then the account. */
    async register(request: RegisterRequest): Promise<{ userId: UserId; accessToken?: string; deviceId?: DeviceId }> {
      ensureRegistrationEnabled();
      if (request.kind === 'guest') throw new MatrixError('M_FORBIDDEN', 'Guest access is disabled on this server');
      // Username problems are reported before auth, so the client can fix them before the user does stages.
      const localpart = request.username === undefined ? undefined : localpartFor(request.username);
      if (localpart !== undefined) await ensureAvailable(localpart);
      await uia.check('POST register', REGISTER_FLOWS, request.auth);
      if (request.password === undefined || request.password === '') {
        throw new MatrixError('M_MISSING_PARAM', 'A password is required');
      }
      return createAccount({
        localpart: localpart ?? (await generatedLocalpart()),
        password: request.password,
        admin: false,
        device: request.inhibitLogin
          ? null
          : { deviceId: request.deviceId, displayName: request.initialDeviceDisplayName ?? null },
      });
    },

    /** GET /register/available: true, or the error registering it would give. */
    async available(username: string): Promise<true> {
      ensureRegistrationEnabled();
      await ensureAvailable(localpartFor(username));
      return true;
    },

    /** For shared-secret registration: no enable_registration, no UIA, the caller is trusted. */
    async createAccount(account: NewAccount) {
      return createAccount({ ...account, localpart: localpartFor(account.localpart) });
    },

    loginTypes(): readonly string[] {
      return LOGIN_TYPES;
    },

    /** POST /login with m.login.password. Unknown user and wrong password get the same answer. */
    async login(request: LoginRequest): Promise<Session> {
      if (request.type !== 'm.login.password') {
        throw new MatrixError('M_UNKNOWN', `Unknown login type ${request.type}; this server offers ${LOGIN_TYPES.join(', ')}`);
      }
      const userId = userIdFromIdentifier(request);
      if (request.password === undefined) throw new MatrixError('M_MISSING_PARAM', 'password is required');
      const user = userId === undefined ? undefined : await store.user(userId);
      if (user === undefined || user.passwordHash === null) {
        // Spend the same time as a real check, so response times do not tell which users exist.
        await passwords.verify(request.password, await (dummyHash ??= passwords.hash(random.token())));
        throw new MatrixError('M_FORBIDDEN', 'Invalid username or password');
      }
      if (!(await passwords.verify(request.password, user.passwordHash))) {
        throw new MatrixError('M_FORBIDDEN', 'Invalid username or password');
      }
      if (user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
      const device = deviceSession(request.deviceId, request.initialDeviceDisplayName ?? null);
      await store.startDeviceSession(user.userId, device.session, clock.now());
      return { userId: user.userId, accessToken: device.token, deviceId: device.session.deviceId };
    },

    /** The owner of an access token; undefined when the token is unknown or revoked. */
    async authenticate(accessToken: string): Promise<Requester | undefined> {
      return store.requester(hashAccessToken(accessToken));
    },

    /** POST /logout: the token stops working and its device is deleted. */
    async logout(requester: Requester): Promise<void> {
      await store.deleteDevice(requester.userId, requester.deviceId);
    },

    /** POST /logout/all: every token and device of the user. */
    async logoutAll(requester: Requester): Promise<void> {
      await store.deleteAllDevices(requester.userId);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
