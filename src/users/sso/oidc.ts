import { createHash } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { HttpClient, HttpResponse } from '../../platform/http-client.js';
import { MatrixError } from '../../protocol/index.js';

/**
 * OpenID Connect as a single sign-on provider: the authorization code flow with PKCE (OpenID Connect
 * Core 1.0 section 3.1, RFC 7636). The browser goes to the provider's authorization endpoint with our
 * state, nonce and code challenge; the provider sends it back with a code, which we exchange at its token
 * endpoint for an ID token (and an access token for the userinfo endpoint).
 *
 * The ID token comes straight from the token endpoint over TLS, so its signature is not checked: Core
 * 3.1.3.7 (6) lets the TLS server validation stand for it in this flow. Its issuer, audience, expiry and
 * nonce are checked.
 */

export interface OidcProviderConfig {
  readonly id: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | null;
  /** How the client authenticates at the token endpoint; 'none' for a public client (PKCE alone). */
  readonly clientAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
  readonly scopes: readonly string[];
  /** Read the endpoints from ISSUER/.well-known/openid-configuration; else the three below are used. */
  readonly discover: boolean;
  readonly authorizationEndpoint: string | null;
  readonly tokenEndpoint: string | null;
  readonly userinfoEndpoint: string | null;
  /** The claims that name the person for good, suggest their localpart, and give their display name. */
  readonly subjectClaim: string;
  readonly localpartClaim: string;
  readonly displayNameClaim: string;
}

/** Who the provider says signed in. */
export interface OidcPerson {
  readonly subject: string;
  readonly preferredName: string | undefined;
  readonly displayName: string | undefined;
  /** The `email` claim, only when the provider says it verified it (`email_verified: true`). */
  readonly email?: string | undefined;
}

interface Endpoints {
  readonly issuer: string;
  readonly authorization: string;
  readonly token: string;
  readonly userinfo: string | null;
}

/** Discovery is asked again after this long (and after a failure), so a provider's changes are picked up. */
const METADATA_LIFETIME_MS = 60 * 60 * 1000;
/** Clocks drift: an ID token is taken until this long after its exp. */
const CLOCK_SKEW_MS = 2 * 60 * 1000;

const base64url = (bytes: Buffer) => bytes.toString('base64url');

/** RFC 7636's S256 challenge of a verifier. */
export function codeChallenge(verifier: string): string {
  return base64url(createHash('sha256').update(verifier).digest());
}

/** The nonce of a sign-in, derived from its state (the nonce itself is no secret: it rides in the URL). */
export function nonceOf(state: string): string {
  return base64url(createHash('sha256').update(`nonce:${state}`).digest());
}

function providerError(id: string, message: string): MatrixError {
  return new MatrixError('M_UNKNOWN', `The sign-in provider ${id} ${message}`, { status: 502 });
}

function claimText(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = claims[name];
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/** The claims of a JWT (not verified: see the module's note). */
export function jwtClaims(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('an ID token has three parts');
  const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Error('the ID token claims are not an object');
  return claims as Record<string, unknown>;
}

export interface OidcDeps {
  readonly http: HttpClient;
  readonly clock: Clock;
}

export function createOidcProvider(config: OidcProviderConfig, deps: OidcDeps) {
  let endpoints: { readonly value: Endpoints; readonly fetchedTs: number } | undefined;

  function json(response: HttpResponse, what: string): Record<string, unknown> {
    let body: unknown;
    try {
      body = response.json();
    } catch {
      throw providerError(config.id, `answered ${what} with something other than JSON (HTTP ${response.status})`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw providerError(config.id, `answered ${what} with JSON that is not an object`);
    return body as Record<string, unknown>;
  }

  async function call(url: string, what: string, init: Parameters<HttpClient['request']>[1] = {}): Promise<HttpResponse> {
    try {
      return await deps.http.request(url, { ...init, headers: { accept: 'application/json', ...init.headers } });
    } catch (err) {
      throw providerError(config.id, `could not be reached for ${what} (${(err as Error).message})`);
    }
  }

  async function currentEndpoints(): Promise<Endpoints> {
    const now = deps.clock.now();
    if (endpoints !== undefined && now - endpoints.fetchedTs < METADATA_LIFETIME_MS) return endpoints.value;
    if (!config.discover) {
      if (config.authorizationEndpoint === null || config.tokenEndpoint === null) {
        throw providerError(config.id, 'has discover off but no authorization_endpoint and token_endpoint');
      }
      const value = { issuer: config.issuer, authorization: config.authorizationEndpoint, token: config.tokenEndpoint, userinfo: config.userinfoEndpoint };
      endpoints = { value, fetchedTs: now };
      return value;
    }
    const url = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await call(url, 'its configuration');
    if (response.status !== 200) throw providerError(config.id, `answered its configuration with HTTP ${response.status}`);
    const metadata = json(response, 'its configuration');
    // Core Discovery 4.3: the issuer the document names must be the one asked about, exactly.
    if (metadata.issuer !== config.issuer) throw providerError(config.id, `names its issuer ${String(metadata.issuer)}, not ${config.issuer}`);
    const authorization = config.authorizationEndpoint ?? metadata.authorization_endpoint;
    const token = config.tokenEndpoint ?? metadata.token_endpoint;
    const userinfo = config.userinfoEndpoint ?? metadata.userinfo_endpoint ?? null;
    if (typeof authorization !== 'string' || typeof token !== 'string' || (userinfo !== null && typeof userinfo !== 'string')) {
      throw providerError(config.id, 'has a configuration without authorization_endpoint and token_endpoint');
    }
    const value = { issuer: config.issuer, authorization, token, userinfo };
    endpoints = { value, fetchedTs: now };
    return value;
  }

  /** Checks the ID token's claims (Core 3.1.3.7) and returns them. */
  function checkedIdToken(idToken: string, nonce: string): Record<string, unknown> {
    let claims: Record<string, unknown>;
    try {
      claims = jwtClaims(idToken);
    } catch (err) {
      throw providerError(config.id, `sent an ID token that cannot be read (${(err as Error).message})`);
    }
    if (claims.iss !== config.issuer) throw providerError(config.id, `sent an ID token from another issuer (${String(claims.iss)})`);
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audience.includes(config.clientId)) throw providerError(config.id, 'sent an ID token meant for another client');
    if (audience.length > 1 && claims.azp !== undefined && claims.azp !== config.clientId) throw providerError(config.id, 'sent an ID token authorised for another client');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 + CLOCK_SKEW_MS < deps.clock.now()) throw providerError(config.id, 'sent an expired ID token');
    if (claims.nonce !== nonce) throw new MatrixError('M_FORBIDDEN', 'The ID token is not for this sign-in (its nonce differs); start again');
    return claims;
  }

  return {
    id: config.id,

    /** Where to send the browser to sign in; the provider comes back to `redirectUri` with `state`. */
    async authorizationUrl(state: string, codeVerifier: string, redirectUri: string): Promise<string> {
      const { authorization } = await currentEndpoints();
      const url = new URL(authorization);
      const params = {
        response_type: 'code',
        client_id: config.clientId,
        redirect_uri: redirectUri,
        scope: config.scopes.join(' '),
        state,
        nonce: nonceOf(state),
        code_challenge: codeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      };
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return url.toString();
    },

    /** Exchanges the code the provider sent back for who signed in. */
    async person(code: string, state: string, codeVerifier: string, redirectUri: string): Promise<OidcPerson> {
      const { token, userinfo } = await currentEndpoints();
      const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (config.clientAuthMethod === 'client_secret_basic') {
        // RFC 6749 2.3.1: each part form-encoded before the Basic scheme's base64.
        const user = encodeURIComponent(config.clientId);
        const secret = encodeURIComponent(config.clientSecret ?? '');
        headers.authorization = `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
      } else {
        form.set('client_id', config.clientId);
        if (config.clientAuthMethod === 'client_secret_post') form.set('client_secret', config.clientSecret ?? '');
      }
      const tokenResponse = await call(token, 'the code', { method: 'POST', headers, body: form.toString() });
      const tokens = json(tokenResponse, 'the code');
      if (tokenResponse.status !== 200) {
        const reason = typeof tokens.error === 'string' ? tokens.error : `HTTP ${tokenResponse.status}`;
        throw new MatrixError('M_FORBIDDEN', `The sign-in provider ${config.id} did not take the code (${reason}); start again`);
      }
      if (typeof tokens.id_token !== 'string') throw providerError(config.id, 'sent no ID token (is the openid scope asked for?)');
      let claims = checkedIdToken(tokens.id_token, nonceOf(state));
      if (userinfo !== null && typeof tokens.access_token === 'string') {
        const infoResponse = await call(userinfo, 'the userinfo', { headers: { authorization: `Bearer ${tokens.access_token}` } });
        if (infoResponse.status !== 200) throw providerError(config.id, `answered the userinfo request with HTTP ${infoResponse.status}`);
        const info = json(infoResponse, 'the userinfo request');
        // Core 5.3.2: the userinfo answer must be about the ID token's subject.
        if (info.sub !== claims.sub) throw providerError(config.id, 'sent userinfo about someone other than the ID token');
        claims = { ...claims, ...info };
      }
      const subject = claimText(claims, config.subjectClaim);
      if (subject === undefined) throw providerError(config.id, `sent no ${config.subjectClaim} claim to name the person by`);
      return {
        subject,
        preferredName: claimText(claims, config.localpartClaim),
        displayName: claimText(claims, config.displayNameClaim),
        ...(claims.email_verified === true ? { email: claimText(claims, 'email') } : {}),
      };
    },
  };
}

export type OidcProvider = ReturnType<typeof createOidcProvider>;
