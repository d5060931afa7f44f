import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import {
  MatrixError,
  isUserId,
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
import type { AccountStore, AppServiceNamespaces, ExternalIdentity, Requester, UserRecord } from './ports.js';
import { hashAccessToken, lettersFrom, newAccessToken, newDeviceId } from './tokens.js';
import type { RegistrationTokens } from './registration-tokens.js';
import type { AuthDict, Flow, StageCheck, StageChecks, Uia } from './uia.js';
import type { LoginTokens } from './login-tokens.js';
import { deviceOf } from './requester.js';
import { RECAPTCHA_STAGE } from './recaptcha.js';

/** Accounts: registration, login, logout, refresh and access-token lookup for this server's users. */

/** Synapse's default lifetime of an access token issued with a refresh token: five minutes. */
export const DEFAULT_ACCESS_TOKEN_LIFETIME_MS = 5 * 60 * 1000;

/** A User-Agent kept for a device is cut to this length: the header is the client's to fill. */
const MAX_USER_AGENT_LENGTH = 512;

/** A device's last-seen time and address are written at most this often, so reads do not become writes. */
export const LAST_SEEN_INTERVAL_MS = 60_000;

export interface AccountDeps {
  readonly store: AccountStore;
  readonly uia: Uia;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
  readonly random: Random;
  readonly serverName: ServerName;
  readonly log: Logger;
  /** Open self-service registration (POST /register); shared-secret registration works either way. */
  readonly enableRegistration: boolean;
  /** POST /register?kind=guest; off by default. */
  readonly allowGuestAccess?: boolean;
  /** How long an access token issued with a refresh token lives. */
  readonly accessTokenLifetimeMs?: number;
  /** Registration tokens; POST /register asks for one when they are `required`. */
  readonly registrationTokens?: Pick<RegistrationTokens, 'required' | 'stage' | 'completed'>;
  /**
   * Login tokens (login_via_existing_session, single sign-on); absent: m.login.token is not offered.
   * `getLoginToken`: POST /login/get_token hands them out (login_via_existing_session).
   */
  readonly loginTokens?: Pick<LoginTokens, 'redeem'> & { readonly getLoginToken: boolean };
  /** The single sign-on flows GET /login lists (m.login.sso, and m.login.cas with a CAS server); absent: none. */
  readonly ssoFlows?: () => readonly LoginFlow[];
  /** Whose account a third-party identifier (an email address) is on, for logging in with it; absent: none is. */
  readonly threepidOwner?: (medium: string, address: string) => Promise<string | undefined>;
  /**
   * Registering with an email address (account-threepids.ts): the m.login.email.identity stage, and what
   * follows a registration (the address goes on the account). Absent: registration offers no email flow.
   */
  readonly emailRegistration?: {
    readonly stage: StageCheck;
    readonly registered: (uiaSession: string, userId: string) => Promise<void>;
    /** Every registration must validate an address (registration_requires_email): no flow without it. */
    readonly required?: boolean;
  };
  /** Application services' namespaces; absent: none is configured (m.login.application_service is refused). */
  readonly appServices?: AppServiceNamespaces;
  /** The m.login.recaptcha stage, which every registration flow then starts with; absent: no captcha. */
  readonly registrationCaptcha?: StageCheck;
}

/** The spec's answer to a locked account's requests: 401 M_USER_LOCKED with soft_logout, so clients keep their state. */
export function accountLocked(): MatrixError {
  return new MatrixError('M_USER_LOCKED', 'This account has been locked by a server admin', { status: 401, extra: { soft_logout: true } });
}

/** The login and registration type of application services. */
export const APPSERVICE_LOGIN_TYPE = 'm.login.application_service';

export interface RegisterRequest {
  readonly kind: 'user' | 'guest';
  /** The body's `type`: m.login.application_service for an application service's registration. */
  readonly type?: string | undefined;
  /** The application service whose as_token came with the request. */
  readonly appservice?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly deviceId?: string | undefined;
  readonly initialDeviceDisplayName?: string | undefined;
  readonly inhibitLogin?: boolean | undefined;
  /** The client can refresh: the access token expires and a refresh token comes with it. */
  readonly refreshToken?: boolean | undefined;
  readonly auth?: AuthDict | undefined;
  /** A guest's access token: the guest becomes a full account, keeping its user id. */
  readonly guestAccessToken?: string | undefined;
}

/** userIdFromThreepid's answer for a login that names its user by id, not by a third-party identifier. */
const NOT_BY_THREEPID = Symbol('not by threepid');

export interface LoginRequest {
  readonly type: string;
  /** The application service whose as_token came with the request (m.login.application_service). */
  readonly appservice?: string | undefined;
  readonly identifier?: { readonly type: string; readonly user?: string | undefined; readonly medium?: unknown; readonly address?: unknown } | undefined;
  /** Deprecated top-level form of identifier { type: m.id.user, user }. */
  readonly user?: string | undefined;
  /** Deprecated top-level form of identifier { type: m.id.thirdparty, medium, address }. */
  readonly medium?: string | undefined;
  readonly address?: string | undefined;
  readonly password?: string | undefined;
  /** m.login.token's token. */
  readonly token?: string | undefined;
  readonly deviceId?: string | undefined;
  readonly initialDeviceDisplayName?: string | undefined;
  readonly refreshToken?: boolean | undefined;
}

/** A login type GET /login offers; getLoginToken: POST /login/get_token hands out m.login.token tokens. */
export interface LoginFlow {
  readonly type: string;
  readonly getLoginToken?: boolean;
  /** m.login.sso's providers, one button each. */
  readonly identityProviders?: readonly IdentityProvider[];
}

/** A single sign-on provider as GET /login lists it. */
export interface IdentityProvider {
  readonly id: string;
  readonly name: string;
  readonly brand?: string;
  readonly icon?: string;
}

/** The tokens of a session: the refresh token and the lifetime only when the client asked to refresh. */
export interface SessionTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly expiresInMs?: number;
}

/** A new device session: what register and login answer. */
export interface Session extends SessionTokens {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

/** What register answers: only the user id with inhibit_login. */
export interface Registered extends Partial<Omit<Session, 'userId'>> {
  readonly userId: UserId;
}

/** Where a request came from, for the device's last-seen address. */
export interface ClientInfo {
  readonly ip?: string | undefined;
  /** The User-Agent header, for GET /admin/whois. */
  readonly userAgent?: string | undefined;
}

export interface NewAccount {
  readonly localpart: string;
  readonly password: string | null;
  readonly admin: boolean;
  /** null: no device and no token (inhibit_login). */
  readonly device: { readonly deviceId: string | undefined; readonly displayName: string | null; readonly refresh?: boolean | undefined } | null;
  /** The profile's display name; the localpart when absent or empty. */
  readonly displayName?: string | undefined;
  readonly isGuest?: boolean;
}

/** The UIA operation of POST /register. */
const REGISTER_OPERATION = 'POST register';

/** What a registration's UIA session remembers of its requests: the password only as its hash. */
interface RegistrationParams {
  readonly username?: string | undefined;
  readonly passwordHash?: string | undefined;
  readonly deviceId?: string | undefined;
  readonly displayName?: string | undefined;
  readonly inhibitLogin?: boolean | undefined;
  readonly refresh?: boolean | undefined;
}

/** The remembered parameters as stored JSON (the spec's names are not needed: only Hearth reads them). */
function storedRegistrationParams(params: RegistrationParams): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
}

/** Stored parameters read back; a field of the wrong type is dropped rather than trusted. */
function readRegistrationParams(stored: Readonly<Record<string, unknown>> | null | undefined): RegistrationParams {
  if (!stored) return {};
  const text = (key: string) => (typeof stored[key] === 'string' ? stored[key] : undefined);
  const flag = (key: string) => (typeof stored[key] === 'boolean' ? stored[key] : undefined);
  return {
    username: text('username'),
    passwordHash: text('passwordHash'),
    deviceId: text('deviceId'),
    displayName: text('displayName'),
    inhibitLogin: flag('inhibitLogin'),
    refresh: flag('refresh'),
  };
}

export const REGISTER_FLOWS: readonly Flow[] = [['m.login.dummy']];
/** With email configured, a new user may also give (and validate) an email address for the account. */
export const REGISTER_WITH_EMAIL_FLOWS: readonly Flow[] = [['m.login.dummy'], ['m.login.email.identity']];
/** With registration_requires_token, the token stands in for the dummy stage. */
export const REGISTER_WITH_TOKEN_FLOWS: readonly Flow[] = [['m.login.registration_token']];

const GENERATED_LOCALPART_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function createAccountService(deps: AccountDeps) {
  const { store, uia, passwords, clock, random, serverName, log } = deps;
  const accessTokenLifetimeMs = deps.accessTokenLifetimeMs ?? DEFAULT_ACCESS_TOKEN_LIFETIME_MS;
  let dummyHash: Promise<string> | undefined;

  /**
   * The localpart a requested username stands for, or M_INVALID_USERNAME saying why not. Application
   * services may take the names starting with _ that are kept for them.
   */
  function localpartFor(username: string, forAppService = false): string {
    const localpart = username.toLowerCase();
    if (localpart === '') throw new MatrixError('M_INVALID_USERNAME', 'The username is empty');
    if (!isValidNewLocalpart(localpart)) {
      throw new MatrixError('M_INVALID_USERNAME', 'Usernames may only contain a-z, 0-9 and . _ = - / +');
    }
    if (localpart.startsWith('_') && !forAppService) {
      throw new MatrixError('M_INVALID_USERNAME', 'Usernames starting with _ are reserved for bridges');
    }
    if (/^[0-9]+$/.test(localpart)) throw new MatrixError('M_INVALID_USERNAME', 'Numeric usernames are reserved for guests');
    if (!isValidNewLocalpart(localpart, serverName)) {
      throw new MatrixError('M_INVALID_USERNAME', 'The username is too long: a user ID is at most 255 bytes');
    }
    return localpart;
  }

  /** M_EXCLUSIVE when an application service claims the user: only it may register the name. */
  function ensureNotExclusive(localpart: string): void {
    const owner = deps.appServices?.exclusiveOwner(makeUserId(localpart, serverName));
    if (owner !== undefined) throw new MatrixError('M_EXCLUSIVE', `This username is reserved for the application service ${owner}; choose another`);
  }

  async function ensureAvailable(localpart: string): Promise<void> {
    if (await store.user(makeUserId(localpart, serverName))) {
      throw new MatrixError('M_USER_IN_USE', 'This username is taken; choose another');
    }
  }

  function ensureRegistrationEnabled(): void {
    if (!deps.enableRegistration) throw new MatrixError('M_FORBIDDEN', 'Registration is disabled on this server');
  }

  /** A new device (or a taken-over one) with fresh tokens; expiring ones with a refresh token when asked. */
  function deviceSession(deviceId: string | undefined, displayName: string | null, refresh = false) {
    const token = newAccessToken(random);
    const refreshToken = refresh ? newAccessToken(random) : undefined;
    const id = deviceId === undefined ? newDeviceId(random) : parseDeviceId(deviceId);
    const tokens: SessionTokens = refreshToken === undefined
      ? { accessToken: token }
      : { accessToken: token, refreshToken, expiresInMs: accessTokenLifetimeMs };
    return {
      tokens,
      session: {
        deviceId: id,
        displayName,
        tokenHash: hashAccessToken(token),
        expiresTs: refreshToken === undefined ? null : clock.now() + accessTokenLifetimeMs,
        refreshTokenHash: refreshToken === undefined ? null : hashAccessToken(refreshToken),
      },
    };
  }

  /** Creates the account (and its first device unless `device` is null); no policy checks. */
  async function createAccount(account: NewAccount): Promise<Registered> {
    const passwordHash = account.password === null ? null : await passwords.hash(account.password);
    return createHashedAccount({ ...account, passwordHash });
  }

  async function createHashedAccount(
    account: Omit<NewAccount, 'password'> & { readonly passwordHash: string | null },
    identity?: ExternalIdentity,
  ): Promise<Registered> {
    const userId = makeUserId(account.localpart, serverName);
    const { passwordHash } = account;
    const device = account.device && deviceSession(account.device.deviceId, account.device.displayName, account.device.refresh);
    const profile = account.displayName ? { ...defaultProfile(userId), displayName: account.displayName } : defaultProfile(userId);
    const created = await store.createUser(
      { userId, passwordHash, createdTs: clock.now(), deactivated: false, admin: account.admin, isGuest: account.isGuest ?? false },
      device?.session ?? null,
      profile,
      identity,
    );
    if (!created) throw new MatrixError('M_USER_IN_USE', 'This username is taken; choose another');
    return device ? { userId, deviceId: device.session.deviceId, ...device.tokens } : { userId };
  }

  /** POST /register?kind=guest: a numeric user id, no password, a device; the body's other fields are ignored. */
  async function registerGuest(request: RegisterRequest): Promise<Registered> {
    if (!deps.allowGuestAccess) throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access is disabled on this server');
    for (let attempt = 0; attempt < 5; attempt++) {
      const localpart = String(await store.nextGuestNumber());
      try {
        return await createAccount({
          localpart,
          password: null,
          admin: false,
          isGuest: true,
          device: { deviceId: undefined, displayName: request.initialDeviceDisplayName ?? null, refresh: request.refreshToken },
        });
      } catch (err) {
        // A numeric account made some other way (an admin tool) holds this number; draw the next.
        if (!(err instanceof MatrixError && err.errcode === 'M_USER_IN_USE')) throw err;
      }
    }
    throw new MatrixError('M_UNKNOWN', 'Could not pick a free guest user id; try again', { status: 500 });
  }

  /**
   * The guest a guest_access_token belongs to. The spec has the guest repeat its own localpart as the
   * username; leaving it out means the same, and any other username is refused.
   */
  async function guestToUpgrade(guestAccessToken: string, username: string | undefined): Promise<UserId> {
    const token = await store.accessToken(hashAccessToken(guestAccessToken));
    if (token === undefined || !token.isGuest || (token.expiresTs !== null && token.expiresTs <= clock.now())) {
      throw new MatrixError('M_FORBIDDEN', 'guest_access_token is not the access token of a guest account');
    }
    const localpart = userIdLocalpart(token.userId);
    if (username !== undefined && username.toLowerCase() !== localpart) {
      throw new MatrixError('M_FORBIDDEN', `A guest keeps its user id when it registers: set username to ${localpart} or leave it out`);
    }
    return token.userId;
  }

  /** The guest becomes a full account with a password; its profile, rooms and old devices stay. */
  async function upgradeGuest(userId: UserId, passwordHash: string, newDevice: NewAccount['device']): Promise<Registered> {
    const device = newDevice && deviceSession(newDevice.deviceId, newDevice.displayName, newDevice.refresh);
    if (!(await store.upgradeGuest(userId, passwordHash, device?.session ?? null, clock.now()))) {
      throw new MatrixError('M_FORBIDDEN', `${userId} is no longer a guest account`);
    }
    log.info({ userId }, 'guest account upgraded');
    return device ? { userId, deviceId: device.session.deviceId, ...device.tokens } : { userId };
  }

  /** The account m.login.password names, if the password is right. Unknown user and wrong password get the same answer. */
  async function passwordLogin(request: LoginRequest): Promise<UserRecord> {
    const byThreepid = await userIdFromThreepid(request);
    const userId = byThreepid === NOT_BY_THREEPID ? userIdFromIdentifier(request) : byThreepid;
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
    return user;
  }

  /** The account an m.login.token token was issued to; the token is spent. */
  async function tokenLogin(loginTokens: Pick<LoginTokens, 'redeem'>, request: LoginRequest): Promise<UserRecord> {
    if (request.token === undefined) throw new MatrixError('M_MISSING_PARAM', 'token is required');
    const user = await store.user(await loginTokens.redeem(request.token));
    if (user === undefined) throw new MatrixError('M_FORBIDDEN', 'The login token is unknown, expired or already used; ask for a new one');
    return user;
  }

  function loginFlows(): readonly LoginFlow[] {
    return [
      { type: 'm.login.password' },
      ...(deps.ssoFlows?.() ?? []),
      ...(deps.loginTokens ? [{ type: 'm.login.token', getLoginToken: deps.loginTokens.getLoginToken }] : []),
      ...(deps.appServices ? [{ type: APPSERVICE_LOGIN_TYPE }] : []),
    ];
  }

  /** Records where the device was seen; never fails or delays the request it comes with. */
  function touch(requester: { readonly userId: UserId; readonly deviceId: DeviceId }, lastSeenTs: number | null, lastSeenIp: string | null, client: ClientInfo): void {
    const now = clock.now();
    const ip = client.ip ?? null;
    const due = lastSeenTs === null || now - lastSeenTs >= LAST_SEEN_INTERVAL_MS || (lastSeenIp === null && ip !== null);
    if (!due) return;
    store.touchDevice(requester.userId, requester.deviceId, now, ip, client.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null).catch((err: unknown) => {
      log.warn({ err, userId: requester.userId, deviceId: requester.deviceId }, 'last seen not recorded');
    });
  }

  /** A user id to stand in for a missing username; retried on the (unlikely) clash. */
  async function generatedLocalpart(): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const localpart = lettersFrom(random, GENERATED_LOCALPART_ALPHABET, 12);
      if (/^[0-9]+$/.test(localpart) || deps.appServices?.exclusiveOwner(makeUserId(localpart, serverName)) !== undefined) continue;
      if (!(await store.user(makeUserId(localpart, serverName)))) return localpart;
    }
    throw new MatrixError('M_UNKNOWN', 'Could not pick a free username; choose one', { status: 500 });
  }

  /**
   * The account parameters a register request carries, the password hashed; undefined when it carries
   * none (a request completing a stage with only `auth`). A device name without anything else does not
   * count, as in Synapse: a client bug sent it alone and wiped out the remembered parameters.
   */
  async function registrationParams(request: RegisterRequest): Promise<RegistrationParams | undefined> {
    const { username, password, deviceId, inhibitLogin, refreshToken } = request;
    if ([username, password, deviceId, inhibitLogin, refreshToken].every((value) => value === undefined)) return undefined;
    return {
      username,
      passwordHash: password === undefined || password === '' ? undefined : await passwords.hash(password),
      deviceId,
      displayName: request.initialDeviceDisplayName,
      inhibitLogin,
      refresh: refreshToken,
    };
  }

  /**
   * POST /register by an application service (type m.login.application_service and its as_token): no
   * user-interactive auth, no password, open even where registration is closed; the user must be in the
   * service's namespaces. Logged in unless inhibit_login (Hearth keeps the legacy login API).
   */
  async function registerForAppService(request: RegisterRequest): Promise<Registered> {
    const service = request.appservice;
    if (service === undefined) throw new MatrixError('M_MISSING_TOKEN', `${APPSERVICE_LOGIN_TYPE} registration needs the application service's as_token`);
    if (request.type !== APPSERVICE_LOGIN_TYPE) {
      throw new MatrixError('M_INVALID_PARAM', `An application service registers its users with type ${APPSERVICE_LOGIN_TYPE}`);
    }
    if (request.username === undefined) throw new MatrixError('M_MISSING_PARAM', 'username is required');
    const localpart = localpartFor(request.username, true);
    const userId = makeUserId(localpart, serverName);
    if (!deps.appServices?.owns(service, userId)) {
      throw new MatrixError('M_EXCLUSIVE', `${userId} is outside the user namespaces of the application service ${service}`);
    }
    await ensureAvailable(localpart);
    const device = request.inhibitLogin ? null : { deviceId: request.deviceId, displayName: request.initialDeviceDisplayName ?? null, refresh: request.refreshToken };
    const registered = await createHashedAccount({ localpart, passwordHash: null, admin: false, device });
    log.info({ userId, appservice: service }, 'application service registered a user');
    return registered;
  }

  /** The account an application service logs in as (m.login.application_service): one of its own users. */
  async function appServiceLogin(request: LoginRequest): Promise<UserRecord> {
    const service = request.appservice;
    if (service === undefined) throw new MatrixError('M_MISSING_TOKEN', `${APPSERVICE_LOGIN_TYPE} login needs the application service's as_token`);
    const userId = userIdFromIdentifier(request);
    if (userId === undefined || !deps.appServices?.owns(service, userId)) {
      throw new MatrixError('M_EXCLUSIVE', `The application service ${service} can only log in as users in its namespaces`);
    }
    const user = await store.user(userId);
    if (user === undefined) throw new MatrixError('M_FORBIDDEN', `${userId} is not registered; register it first`);
    return user;
  }

  /** A registered session completed again: the same user, logged in on a new (or the named) device. */
  async function loginAgain(userId: UserId, params: RegistrationParams): Promise<Registered> {
    if (params.inhibitLogin) return { userId };
    const user = await store.user(userId);
    if (user === undefined || user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
    const device = deviceSession(params.deviceId, params.displayName ?? null, params.refresh);
    await store.startDeviceSession(userId, device.session, clock.now());
    return { userId, deviceId: device.session.deviceId, ...device.tokens };
  }

  /**
   * The account a third-party identifier names (m.id.thirdparty, or the deprecated top-level medium and
   * address): undefined for an address on no account (the password check then fails as for an unknown
   * user), NOT_BY_THREEPID when the request names its user another way.
   */
  async function userIdFromThreepid(request: LoginRequest): Promise<UserId | undefined | typeof NOT_BY_THREEPID> {
    const given = request.identifier?.type === 'm.id.thirdparty'
      ? { medium: request.identifier.medium, address: request.identifier.address }
      : request.identifier === undefined && request.user === undefined && request.medium !== undefined ? { medium: request.medium, address: request.address } : undefined;
    if (given === undefined) return NOT_BY_THREEPID;
    if (typeof given.medium !== 'string' || typeof given.address !== 'string') {
      throw new MatrixError('M_MISSING_PARAM', 'A third-party identifier needs medium and address');
    }
    const owner = await deps.threepidOwner?.(given.medium, given.address);
    return owner !== undefined && isUserId(owner) ? (owner as UserId) : undefined;
  }

  /** Who a login identifier names, or undefined when it names no possible local user. */
  function userIdFromIdentifier(request: LoginRequest): UserId | undefined {
    let user: string | undefined;
    if (request.identifier !== undefined) {
      if (request.identifier.type !== 'm.id.user') {
        throw new MatrixError('M_UNKNOWN', `Unknown identifier type ${request.identifier.type}; use m.id.user or m.id.thirdparty`);
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
    /**
     * POST /register: policy, then user-interactive auth, then the account. The first request's parameters
     * are remembered with the UIA session, so the requests completing stages may carry only `auth`; a
     * session that already registered answers with the same user again (a new login unless inhibited).
     */
    async register(request: RegisterRequest): Promise<Registered> {
      // Guest registration is its own switch, as in Synapse: enable_registration does not govern it.
      if (request.kind === 'guest') return registerGuest(request);
      if (request.appservice !== undefined || request.type === APPSERVICE_LOGIN_TYPE) return registerForAppService(request);
      ensureRegistrationEnabled();
      const remembered = await uia.sessionData(REGISTER_OPERATION, request.auth?.session);
      const given = await registrationParams(request);
      const params = given ?? readRegistrationParams(remembered?.params);
      const registeredUserId = remembered?.result == null ? undefined : parseUserId(remembered.result);
      // Username and guest problems are reported before auth, so the client can fix them before the user does stages.
      const guest = request.guestAccessToken === undefined ? undefined : await guestToUpgrade(request.guestAccessToken, params.username);
      const localpart = guest !== undefined || params.username === undefined ? undefined : localpartFor(params.username);
      if (localpart !== undefined && registeredUserId !== makeUserId(localpart, serverName)) {
        ensureNotExclusive(localpart);
        await ensureAvailable(localpart);
      }
      const tokens = deps.registrationTokens?.required ? deps.registrationTokens : undefined;
      const remember = given === undefined ? undefined : storedRegistrationParams(given);
      const email = deps.emailRegistration;
      const captcha = deps.registrationCaptcha;
      const stages: StageChecks = {
        ...(tokens ? { 'm.login.registration_token': tokens.stage } : {}),
        ...(email ? { 'm.login.email.identity': email.stage } : {}),
      };
      const baseFlows = email?.required
        ? [[...(tokens ? ['m.login.registration_token'] : []), 'm.login.email.identity']]
        : tokens
          ? REGISTER_WITH_TOKEN_FLOWS
          : email
            ? REGISTER_WITH_EMAIL_FLOWS
            : REGISTER_FLOWS;
      const sessionId = captcha
        ? await uia.check(REGISTER_OPERATION, baseFlows.map((flow) => [RECAPTCHA_STAGE, ...flow]), request.auth, { ...stages, [RECAPTCHA_STAGE]: captcha }, remember)
        : await uia.check(REGISTER_OPERATION, baseFlows, request.auth, stages, remember);
      if (registeredUserId !== undefined) return loginAgain(registeredUserId, params);
      if (params.passwordHash === undefined) throw new MatrixError('M_MISSING_PARAM', 'A password is required');
      const device = params.inhibitLogin ? null : { deviceId: params.deviceId, displayName: params.displayName ?? null, refresh: params.refresh };
      const registered = guest !== undefined
        ? await upgradeGuest(guest, params.passwordHash, device)
        : await createHashedAccount({ localpart: localpart ?? (await generatedLocalpart()), passwordHash: params.passwordHash, admin: false, device });
      await uia.setResult(sessionId, registered.userId);
      await tokens?.completed(sessionId);
      // The address validated in the session (if any) goes on the new account.
      await email?.registered(sessionId, registered.userId);
      return registered;
    },

    /** GET /register/available: true, or the error registering it would give. */
    async available(username: string): Promise<true> {
      ensureRegistrationEnabled();
      const localpart = localpartFor(username);
      ensureNotExclusive(localpart);
      await ensureAvailable(localpart);
      return true;
    },

    /** For shared-secret registration: no enable_registration, no UIA, the caller is trusted. */
    async createAccount(account: NewAccount) {
      return createAccount({ ...account, localpart: localpartFor(account.localpart) });
    },

    /**
     * A new account for a person a single sign-on provider vouches for, linked to their identity there: no
     * password, no device yet (the login token logs one in). Open whatever enable_registration says, as in
     * Synapse: the provider decides who may sign in. M_INVALID_USERNAME, M_EXCLUSIVE or M_USER_IN_USE
     * (the name is taken, or the identity was linked meanwhile) when this localpart cannot be had.
     */
    async createExternalAccount(localpart: string, displayName: string | undefined, identity: ExternalIdentity): Promise<UserId> {
      const valid = localpartFor(localpart);
      ensureNotExclusive(valid);
      const registered = await createHashedAccount({ localpart: valid, passwordHash: null, admin: false, device: null, displayName }, identity);
      log.info({ userId: registered.userId, provider: identity.provider }, 'account created by single sign-on');
      return registered.userId;
    },

    /** GET /login: the login types, m.login.token only where login tokens are handed out. */
    loginFlows,

    /** POST /login with m.login.password, or m.login.token where login tokens are on. */
    async login(request: LoginRequest): Promise<Session> {
      let user: UserRecord;
      if (request.type === 'm.login.password') {
        user = await passwordLogin(request);
      } else if (request.type === 'm.login.token' && deps.loginTokens !== undefined) {
        user = await tokenLogin(deps.loginTokens, request);
      } else if (request.type === APPSERVICE_LOGIN_TYPE && deps.appServices !== undefined) {
        user = await appServiceLogin(request);
      } else {
        const offered = loginFlows().map((flow) => flow.type).join(', ');
        throw new MatrixError('M_UNKNOWN', `Unknown login type ${request.type}; this server offers ${offered}`);
      }
      if (user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
      // The spec: a locked account cannot get a new access token until it is unlocked.
      if (user.locked) throw accountLocked();
      const device = deviceSession(request.deviceId, request.initialDeviceDisplayName ?? null, request.refreshToken);
      await store.startDeviceSession(user.userId, device.session, clock.now());
      return { userId: user.userId, deviceId: device.session.deviceId, ...device.tokens };
    },

    /**
     * The owner of an access token; undefined when the token is unknown or revoked. An expired token is
     * M_UNKNOWN_TOKEN with soft_logout: the client refreshes (or logs in to the same device) and keeps its state.
     */
    async authenticate(accessToken: string, client: ClientInfo = {}): Promise<Requester | undefined> {
      const hash = hashAccessToken(accessToken);
      const token = await store.accessToken(hash);
      if (token === undefined) return undefined;
      if (token.expiresTs !== null && token.expiresTs <= clock.now()) {
        throw new MatrixError('M_UNKNOWN_TOKEN', 'The access token has expired; refresh it', { extra: { soft_logout: true } });
      }
      // The spec: the old refresh token stays valid until the new access token is used.
      if (token.refreshPending) await store.confirmRefresh(hash);
      touch(token, token.lastSeenTs, token.lastSeenIp, client);
      return {
        userId: token.userId,
        deviceId: token.deviceId,
        isGuest: token.isGuest,
        ...(token.locked ? { locked: true } : {}),
        ...(token.suspended ? { suspended: true } : {}),
      };
    },

    /** POST /refresh: a new access token and refresh token for the refresh token's device. */
    async refresh(refreshToken: string): Promise<SessionTokens> {
      const accessToken = newAccessToken(random);
      const nextRefresh = newAccessToken(random);
      const now = clock.now();
      const owner = await store.refreshSession(
        hashAccessToken(refreshToken),
        { tokenHash: hashAccessToken(accessToken), refreshTokenHash: hashAccessToken(nextRefresh), expiresTs: now + accessTokenLifetimeMs },
        now,
      );
      if (owner === undefined) {
        throw new MatrixError('M_UNKNOWN_TOKEN', 'The refresh token is unknown or has been replaced; log in again');
      }
      if (owner === 'locked') throw accountLocked();
      return { accessToken, refreshToken: nextRefresh, expiresInMs: accessTokenLifetimeMs };
    },

    /** POST /logout: the token stops working and its device is deleted. */
    async logout(requester: Requester): Promise<void> {
      await store.deleteDevice(requester.userId, deviceOf(requester));
    },

    /** POST /logout/all: every token and device of the user. */
    async logoutAll(requester: Requester): Promise<void> {
      await store.deleteAllDevices(requester.userId);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
