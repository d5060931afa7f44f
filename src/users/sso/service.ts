import { createHash } from 'node:crypto';
import type { Clock, Random } from '../../platform/clock.js';
import type { HttpClient } from '../../platform/http-client.js';
import type { Logger } from '../../platform/logger.js';
import { MatrixError, makeUserId, type ServerName, type UserId } from '../../protocol/index.js';
import type { IdentityProvider, LoginFlow } from '../accounts.js';
import type { LoginToken } from '../login-tokens.js';
import type { AccountStore, ExternalIdentity, SsoSignIn, SsoStore } from '../ports.js';
import type { Uia } from '../uia.js';
import { casLoginUrl, casValidateUrl, parseCasValidation } from './cas.js';
import { localpartCandidates, localpartFromExternalName, strictUriEncode, withLoginToken } from './mapping.js';
import { createOidcProvider, type OidcProvider, type OidcProviderConfig } from './oidc.js';

/**
 * Single sign-on (client-server API, "SSO client login/authentication"): logging in, and confirming an
 * operation (user-interactive auth's m.login.sso), at an external identity provider: a CAS server, or
 * OpenID Connect providers. The person the provider names is mapped to an account (created the first time,
 * its localpart from their name by the spec's mapping); a login ends with a login token for the client's
 * redirectUrl, a confirmation with the UIA stage completed.
 */

/** A sign-in left at the provider's page for longer than this is forgotten. */
export const SIGN_IN_LIFETIME_MS = 10 * 60 * 1000;
/**
 * A single sign-on login token lives two minutes: the spec suggests seconds, but the person first reads the
 * page that asks whether to let the client in, and the token is in that page's link.
 */
export const SSO_LOGIN_TOKEN_LIFETIME_MS = 2 * 60 * 1000;
/** How many numbered variants of a taken name are tried before a new account gets a generated one. */
const NAME_VARIANTS = 10;

interface ProviderCommon {
  readonly id: string;
  readonly name: string;
  readonly brand: string | null;
  readonly icon: string | null;
  /** A first sign-in whose name is an existing account's signs in as that account (else: a new account). */
  readonly allowExistingUsers: boolean;
}

export interface CasSettings extends ProviderCommon {
  readonly serverUrl: string;
  /** The attribute whose value is the new account's display name; null: none. */
  readonly displayNameAttribute: string | null;
  /** Attributes (name: value, or name: null for any value) a person must have to sign in. */
  readonly requiredAttributes: Readonly<Record<string, string | null>>;
}

export type OidcSettings = ProviderCommon & OidcProviderConfig;

export interface SsoDeps {
  readonly store: SsoStore;
  readonly accounts: Pick<AccountStore, 'user'>;
  readonly createAccount: (localpart: string, displayName: string | undefined, identity: ExternalIdentity) => Promise<UserId>;
  /** Puts a verified email address on an account (a new one's, from the provider); absent: addresses are not kept. */
  readonly addVerifiedEmail?: (userId: UserId, address: string) => Promise<boolean>;
  readonly loginTokens: { mint(userId: UserId, lifetimeMs: number): Promise<LoginToken> };
  readonly uia: Pick<Uia, 'session' | 'completeStage' | 'refuse'>;
  readonly http: HttpClient;
  /** Where clients reach this server, without a trailing slash: the providers send browsers back here. */
  readonly publicBaseUrl: string;
  readonly serverName: ServerName;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly cas: CasSettings | null;
  readonly oidc: readonly OidcSettings[];
  /** redirectUrl prefixes of trusted clients: their logins skip the page that asks the person first. */
  readonly clientWhitelist: readonly string[];
}

/** Where the browser goes next. `cookie`: the sign-in's state, to be set in the browser on the way (OpenID Connect). */
export type SsoStart =
  | { readonly kind: 'redirect'; readonly location: string; readonly cookie: string | null }
  | { readonly kind: 'choose'; readonly providers: readonly IdentityProvider[] };

/** How a provider's answer ends. */
export type SsoOutcome =
  | {
      readonly kind: 'login';
      readonly userId: UserId;
      /** The client's redirectUrl with the login token. */
      readonly location: string;
      /** The client is trusted (client_whitelist): send the browser on without asking. */
      readonly trusted: boolean;
    }
  | { readonly kind: 'confirmed' }
  /** The person who signed in is not the session's user: the operation is refused (its next request gets 403). */
  | { readonly kind: 'refused'; readonly reason: string };

/** The path providers send browsers back to. */
export const OIDC_CALLBACK_PATH = '/_hearth/client/sso/oidc/callback';
export const CAS_TICKET_PATH = '/_matrix/client/r0/login/cas/ticket';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function providerJson(provider: ProviderCommon): IdentityProvider {
  return {
    id: provider.id,
    name: provider.name,
    ...(provider.brand === null ? {} : { brand: provider.brand }),
    ...(provider.icon === null ? {} : { icon: provider.icon }),
  };
}

/** The client's redirectUrl, if it is an absolute URL (a custom scheme of a mobile app too). */
function checkedRedirectUrl(redirectUrl: string | undefined): string {
  if (redirectUrl === undefined || redirectUrl === '') throw new MatrixError('M_MISSING_PARAM', 'redirectUrl is required: where to send the browser back with the login token');
  if (!URL.canParse(redirectUrl)) throw new MatrixError('M_INVALID_PARAM', 'redirectUrl is not an absolute URL');
  return redirectUrl;
}

export function createSso(deps: SsoDeps) {
  const { store, clock, random, log } = deps;
  const oidc = new Map<string, { readonly settings: OidcSettings; readonly provider: OidcProvider }>(
    deps.oidc.map((settings) => [settings.id, { settings, provider: createOidcProvider(settings, { http: deps.http, clock }) }]),
  );
  const providers: readonly ProviderCommon[] = [...(deps.cas ? [deps.cas] : []), ...deps.oidc];
  const oidcRedirectUri = `${deps.publicBaseUrl}${OIDC_CALLBACK_PATH}`;

  function provider(id: string): ProviderCommon {
    const found = providers.find((p) => p.id === id);
    if (found === undefined) throw new MatrixError('M_NOT_FOUND', `This server has no single sign-on provider ${id}`);
    return found;
  }

  function casService(query: string): string {
    return `${deps.publicBaseUrl}${CAS_TICKET_PATH}?${query}`;
  }

  /** Sends the browser to the provider for a login or a confirmation. */
  async function start(idp: ProviderCommon, signIn: { readonly redirectUrl: string } | { readonly uiaSession: string }): Promise<SsoStart> {
    if (deps.cas !== null && idp === deps.cas) {
      // CAS carries no state of its own: the service URL says what the sign-in is for.
      const query = 'redirectUrl' in signIn ? `redirectUrl=${strictUriEncode(signIn.redirectUrl)}` : `session=${strictUriEncode(signIn.uiaSession)}`;
      return { kind: 'redirect', location: casLoginUrl(deps.cas.serverUrl, casService(query)), cookie: null };
    }
    const { provider: oidcProvider } = oidc.get(idp.id)!;
    const state = random.token(24);
    const codeVerifier = random.token(48);
    const location = await oidcProvider.authorizationUrl(state, codeVerifier, oidcRedirectUri);
    const now = clock.now();
    await store.deleteSignInsBefore(now - SIGN_IN_LIFETIME_MS);
    await store.addSignIn(sha256(state), { provider: idp.id, codeVerifier, ...signIn } as SsoSignIn, now);
    return { kind: 'redirect', location, cookie: state };
  }

  /** The account the person signs in as: linked before, an existing one of their name (where allowed), or a new one. */
  async function accountFor(
    idp: ProviderCommon,
    identity: ExternalIdentity,
    preferredName: string | undefined,
    displayName: string | undefined,
  ): Promise<{ readonly userId: UserId; readonly created: boolean }> {
    const linked = await store.userOfIdentity(identity);
    if (linked !== undefined) return { userId: linked, created: false };
    const base = localpartFromExternalName(preferredName ?? identity.subject);
    if (idp.allowExistingUsers && base !== undefined) {
      const existing = await deps.accounts.user(makeUserId(base, deps.serverName));
      if (existing !== undefined && !existing.isGuest) {
        if (await store.linkIdentity(identity, existing.userId, clock.now())) {
          log.info({ userId: existing.userId, provider: idp.id }, 'single sign-on identity linked to an existing account');
          return { userId: existing.userId, created: false };
        }
        return { userId: (await store.userOfIdentity(identity)) ?? existing.userId, created: false };
      }
    }
    const generated = () => `${random.token(8).toLowerCase().replace(/[^a-z0-9]/g, '')}sso`;
    const candidates = base === undefined ? [generated()] : [...localpartCandidates(base, NAME_VARIANTS), generated()];
    for (const localpart of candidates) {
      try {
        return { userId: await deps.createAccount(localpart, displayName, identity), created: true };
      } catch (err) {
        if (!(err instanceof MatrixError) || !['M_USER_IN_USE', 'M_INVALID_USERNAME', 'M_EXCLUSIVE'].includes(err.errcode)) throw err;
        // Another sign-in of the same person may have made their account meanwhile.
        const raced = await store.userOfIdentity(identity);
        if (raced !== undefined) return { userId: raced, created: false };
      }
    }
    throw new MatrixError('M_UNKNOWN', `No free user id could be made from the name ${preferredName ?? identity.subject}; ask the server's admin`, { status: 500 });
  }

  /** A person the provider vouched for: logged in (a login token for the client), or the UIA stage done. */
  async function signedIn(
    idp: ProviderCommon,
    signIn: { readonly redirectUrl?: string | undefined; readonly uiaSession?: string | undefined },
    person: { readonly subject: string; readonly preferredName: string | undefined; readonly displayName: string | undefined; readonly email?: string | undefined },
  ): Promise<SsoOutcome> {
    const identity = { provider: idp.id, subject: person.subject };
    if (signIn.uiaSession !== undefined) {
      const session = await deps.uia.session(signIn.uiaSession);
      const userId = await store.userOfIdentity(identity);
      if (session.subject === null || userId !== session.subject) {
        // Someone else at the controls, perhaps: the operation is refused for good, not left open for another try.
        const reason = `The confirmation was signed in at ${idp.name} as someone other than ${session.subject ?? 'the account asking'}; the operation is refused`;
        await deps.uia.refuse(signIn.uiaSession, reason);
        log.warn({ provider: idp.id, userId: session.subject }, 'single sign-on confirmation by another identity refused');
        return { kind: 'refused', reason };
      }
      await deps.uia.completeStage(signIn.uiaSession, 'm.login.sso', undefined, {});
      return { kind: 'confirmed' };
    }
    const redirectUrl = checkedRedirectUrl(signIn.redirectUrl);
    const { userId, created } = await accountFor(idp, identity, person.preferredName, person.displayName);
    // A new account keeps the address the provider verified (email notifications, login by address).
    if (created && person.email !== undefined && deps.addVerifiedEmail !== undefined && !(await deps.addVerifiedEmail(userId, person.email))) {
      log.info({ userId, provider: idp.id }, 'the address from single sign-on is on another account; not added');
    }
    const user = await deps.accounts.user(userId);
    if (user === undefined || user.deactivated) throw new MatrixError('M_USER_DEACTIVATED', `The account ${userId} has been deactivated`);
    const { loginToken } = await deps.loginTokens.mint(userId, SSO_LOGIN_TOKEN_LIFETIME_MS);
    log.info({ userId, provider: idp.id }, 'single sign-on login');
    return {
      kind: 'login',
      userId,
      location: withLoginToken(redirectUrl, loginToken),
      trusted: deps.clientWhitelist.some((prefix) => redirectUrl.startsWith(prefix)),
    };
  }

  return {
    enabled: providers.length > 0,

    /** GET /login's single sign-on flows: m.login.sso with the providers, and the legacy m.login.cas with CAS. */
    flows(): readonly LoginFlow[] {
      if (providers.length === 0) return [];
      return [{ type: 'm.login.sso', identityProviders: providers.map(providerJson) }, ...(deps.cas ? [{ type: 'm.login.cas' }] : [])];
    },

    /** The provider's name, for pages. */
    providerName(id: string): string {
      return provider(id).name;
    },

    /**
     * GET /login/sso/redirect[/{idpId}]: to the provider's sign-in page, or (several providers and none
     * chosen) the page to choose one on.
     */
    async startLogin(idpId: string | undefined, redirectUrl: string | undefined): Promise<SsoStart> {
      const url = checkedRedirectUrl(redirectUrl);
      if (idpId === undefined) {
        if (providers.length === 0) throw new MatrixError('M_UNRECOGNIZED', 'This server does not offer single sign-on');
        if (providers.length > 1) return { kind: 'choose', providers: providers.map(providerJson) };
      }
      return start(idpId === undefined ? providers[0]! : provider(idpId), { redirectUrl: url });
    },

    /** GET /login/cas/redirect (the deprecated m.login.cas): straight to the CAS server. */
    async startCasLogin(redirectUrl: string | undefined): Promise<SsoStart> {
      if (deps.cas === null) throw new MatrixError('M_UNRECOGNIZED', 'This server has no CAS server configured');
      return start(deps.cas, { redirectUrl: checkedRedirectUrl(redirectUrl) });
    },

    /** The providers the user of a UIA session can confirm it at (those they have signed in with). */
    async confirmationProviders(uiaSession: string): Promise<readonly IdentityProvider[]> {
      const session = await deps.uia.session(uiaSession);
      if (session.subject === null) throw new MatrixError('M_FORBIDDEN', 'This session does not ask anyone to sign in');
      const identities = await store.identitiesOf(session.subject as UserId);
      const usable = providers.filter((p) => identities.some((identity) => identity.provider === p.id));
      if (usable.length === 0) throw new MatrixError('M_FORBIDDEN', `${session.subject} has never signed in with single sign-on here`);
      return usable.map(providerJson);
    },

    /** Confirming a UIA session (m.login.sso's fallback page): to the provider. */
    async startConfirmation(uiaSession: string, idpId: string): Promise<SsoStart> {
      const usable = await this.confirmationProviders(uiaSession);
      if (!usable.some((p) => p.id === idpId)) throw new MatrixError('M_FORBIDDEN', `This account does not sign in with ${idpId}`);
      return start(provider(idpId), { uiaSession });
    },

    /** The CAS server sent the browser back with a ticket (GET /login/cas/ticket). */
    async casTicket(query: { readonly ticket?: string | undefined; readonly redirectUrl?: string | undefined; readonly session?: string | undefined }): Promise<SsoOutcome> {
      const cas = deps.cas;
      if (cas === null) throw new MatrixError('M_UNRECOGNIZED', 'This server has no CAS server configured');
      if (query.ticket === undefined || query.ticket === '') throw new MatrixError('M_MISSING_PARAM', 'ticket is required');
      if ((query.redirectUrl === undefined) === (query.session === undefined)) {
        throw new MatrixError('M_MISSING_PARAM', 'Either redirectUrl (a login) or session (a confirmation) is required');
      }
      // The service URL must be the one the CAS server sent the browser back to, byte for byte.
      const service = casService(query.redirectUrl !== undefined ? `redirectUrl=${strictUriEncode(query.redirectUrl)}` : `session=${strictUriEncode(query.session!)}`);
      let answer;
      try {
        answer = await deps.http.request(casValidateUrl(cas.serverUrl, service, query.ticket), { headers: { accept: 'application/xml, text/xml, */*' } });
      } catch (err) {
        throw new MatrixError('M_UNKNOWN', `The CAS server could not be reached (${(err as Error).message})`, { status: 502 });
      }
      if (answer.status !== 200) throw new MatrixError('M_UNKNOWN', `The CAS server answered the ticket with HTTP ${answer.status}`, { status: 502 });
      const validation = parseCasValidation(answer.text());
      for (const [name, required] of Object.entries(cas.requiredAttributes)) {
        const values = validation.attributes[name] ?? [];
        if (values.length === 0 || (required !== null && !values.includes(required))) {
          throw new MatrixError('M_FORBIDDEN', `Your CAS account lacks what this server asks for (${name}); ask the server's admin`);
        }
      }
      const displayName = cas.displayNameAttribute === null ? undefined : validation.attributes[cas.displayNameAttribute]?.[0];
      return signedIn(cas, { redirectUrl: query.redirectUrl, uiaSession: query.session }, { subject: validation.user, preferredName: validation.user, displayName });
    },

    /**
     * An OpenID Connect provider sent the browser back (the callback): `cookieState` is the state this
     * browser was given when it left, which must be the one the provider returns.
     */
    async oidcCallback(query: {
      readonly state?: string | undefined;
      readonly code?: string | undefined;
      readonly error?: string | undefined;
      readonly errorDescription?: string | undefined;
      readonly cookieState: string | undefined;
    }): Promise<SsoOutcome> {
      if (query.state === undefined || query.state === '') throw new MatrixError('M_MISSING_PARAM', 'The provider sent the browser back without state');
      if (query.cookieState !== query.state) {
        throw new MatrixError('M_FORBIDDEN', 'This sign-in was not started in this browser (or cookies are off); start again from the app');
      }
      const signIn = await store.takeSignIn(sha256(query.state), clock.now() - SIGN_IN_LIFETIME_MS);
      if (signIn === undefined) throw new MatrixError('M_FORBIDDEN', 'This sign-in is unknown, finished or too old; start again from the app');
      const entry = oidc.get(signIn.provider);
      if (entry === undefined) throw new MatrixError('M_NOT_FOUND', `The provider ${signIn.provider} is no longer configured`);
      if (query.error !== undefined) {
        const why = query.error === 'access_denied' ? 'you (or it) declined' : `${query.error}${query.errorDescription ? `: ${query.errorDescription}` : ''}`;
        throw new MatrixError('M_FORBIDDEN', `${entry.settings.name} did not sign you in (${why})`);
      }
      if (query.code === undefined || query.code === '') throw new MatrixError('M_MISSING_PARAM', 'The provider sent the browser back without a code');
      const person = await entry.provider.person(query.code, query.state, signIn.codeVerifier ?? '', oidcRedirectUri);
      return signedIn(entry.settings, signIn, person);
    },

    /** Whether the user signs in with single sign-on (user-interactive auth then offers m.login.sso). */
    async signsInWithSso(userId: UserId): Promise<boolean> {
      return providers.length > 0 && (await store.identitiesOf(userId)).some((identity) => providers.some((p) => p.id === identity.provider));
    },
  };
}

export type Sso = ReturnType<typeof createSso>;
