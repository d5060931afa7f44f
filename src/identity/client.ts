/**
 * Hearth as a client of identity servers (the Identity Service API, v2), for third-party invites: who a
 * third-party identifier (an email address) is bound to, storing an invite for an identifier bound to no
 * one, and whether a key an identity server signed with is still valid. The server name comes from a
 * user, so requests go through a guarded agent (no private addresses unless allowed) with a deadline.
 */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { createGuardedAgent, isBlockedAddress, type AddressPolicy } from '../platform/guarded-agent.js';
import type { HttpClientOptions } from '../platform/http-client.js';
import { isServerName, MatrixError } from '../protocol/index.js';
import type { SigningKey } from '../crypto/index.js';
import { signRequest } from '../federation/index.js';

export interface IdentityClientOptions extends AddressPolicy {
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly tls?: HttpClientOptions['tls'];
  /** This server's name and key, which sign its unbind requests. */
  readonly serverName: string;
  readonly signingKey: SigningKey;
}

/** What POST /_matrix/identity/v2/store-invite answered. */
export interface StoredThirdPartyInvite {
  readonly token: string;
  /** A redacted form of the address to show in the room ("b...@e..."). */
  readonly displayName: string;
  /** The identity server's keys the invite's `signed` object will be signed with, and where to check each. */
  readonly publicKeys: ReadonlyArray<{ readonly publicKey: string; readonly keyValidityUrl: string }>;
}

export interface IdentityServerClient {
  /** The user the identity server has bound (medium, address) to, or null (v2 lookup, sha256 hashing preferred). */
  lookup(idServer: string, accessToken: string, medium: string, address: string): Promise<string | null>;
  /** Asks the identity server to keep an invite for an identifier bound to no one; `invite` is the request body. */
  storeInvite(idServer: string, accessToken: string, invite: Readonly<Record<string, string>>): Promise<StoredThirdPartyInvite>;
  /** Whether the key's validity URL says it is still valid; false when it cannot be asked. */
  isKeyValid(keyValidityUrl: string, publicKey: string): Promise<boolean>;
  /**
   * POST /_matrix/identity/v2/3pid/bind: binds the identifier the user validated in session `sid` to
   * `mxid`; answers the medium and address bound.
   */
  bind(idServer: string, accessToken: string, request: { readonly sid: string; readonly clientSecret: string; readonly mxid: string }): Promise<{ medium: string; address: string }>;
  /**
   * POST /_matrix/identity/v2/3pid/unbind, signed by this homeserver (X-Matrix), as the spec has a
   * homeserver unbind for its user. True when the identity server unbound it (or had no such binding).
   */
  unbind(idServer: string, mxid: string, threepid: { readonly medium: string; readonly address: string }): Promise<boolean>;
  close(): Promise<void>;
}

/** Thrown for an identity server that cannot be used: its answer is the caller's problem to report. */
function unusable(idServer: string, what: string, cause?: unknown): MatrixError {
  return new MatrixError('M_UNKNOWN', `The identity server ${idServer} ${what}`, { status: 502, ...(cause === undefined ? {} : { cause }) });
}

export function createIdentityServerClient(options: IdentityClientOptions): IdentityServerClient {
  const guarded = createGuardedAgent({ ...options, configName: 'federation' });

  async function call(url: URL, idServer: string, init: { method: 'GET' | 'POST'; accessToken?: string; signed?: boolean; body?: Record<string, unknown> }): Promise<{ status: number; json: unknown }> {
    guarded.checkHost(url.hostname);
    const headers: Record<string, string> = { 'user-agent': options.userAgent, accept: 'application/json' };
    if (init.accessToken !== undefined) headers.authorization = `Bearer ${init.accessToken}`;
    if (init.signed === true) {
      const uri = `${url.pathname}${url.search}`;
      headers.authorization = signRequest({ method: init.method, uri, origin: options.serverName, destination: idServer, ...(init.body === undefined ? {} : { content: init.body }) }, options.signingKey);
    }
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await request(url, {
        dispatcher: guarded.agent,
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.body.text();
      let json: unknown = undefined;
      try {
        json = text === '' ? {} : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.statusCode, json };
    } catch (err) {
      if (isBlockedAddress(err)) throw new MatrixError('M_FORBIDDEN', `The identity server ${idServer} is at an address this server may not reach`);
      throw unusable(idServer, 'could not be reached', err);
    }
  }

  function base(idServer: string): string {
    if (!isServerName(idServer)) throw new MatrixError('M_INVALID_PARAM', `id_server must be a server name (host or host:port), not '${idServer.slice(0, 100)}'`);
    return `https://${idServer}`;
  }

  function expectOk(idServer: string, what: string, answer: { status: number; json: unknown }): Record<string, unknown> {
    const body = isObject(answer.json) ? answer.json : undefined;
    if (answer.status === 401 || answer.status === 403) {
      throw new MatrixError('M_FORBIDDEN', `The identity server ${idServer} refused the id_access_token (${String(body?.errcode ?? answer.status)})`);
    }
    if (answer.status < 200 || answer.status >= 300 || body === undefined) {
      throw unusable(idServer, `answered ${what} with HTTP ${answer.status}${typeof body?.errcode === 'string' ? ` (${body.errcode})` : ''}`);
    }
    return body;
  }

  return {
    async lookup(idServer, accessToken, medium, address) {
      const root = base(idServer);
      const details = expectOk(idServer, 'hash_details', await call(new URL(`${root}/_matrix/identity/v2/hash_details`), idServer, { method: 'GET', accessToken }));
      const algorithms = Array.isArray(details.algorithms) ? details.algorithms : [];
      const pepper = typeof details.lookup_pepper === 'string' ? details.lookup_pepper : undefined;
      let query: { algorithm: string; pepper: string; key: string };
      if (algorithms.includes('sha256') && pepper !== undefined) {
        query = { algorithm: 'sha256', pepper, key: createHash('sha256').update(`${address} ${medium} ${pepper}`).digest('base64url') };
      } else if (algorithms.includes('none')) {
        query = { algorithm: 'none', pepper: pepper ?? '', key: `${address} ${medium}` };
      } else {
        throw unusable(idServer, 'offers no lookup algorithm this server knows (sha256 or none)');
      }
      const answer = expectOk(idServer, 'the lookup', await call(new URL(`${root}/_matrix/identity/v2/lookup`), idServer, {
        method: 'POST',
        accessToken,
        body: { addresses: [query.key], algorithm: query.algorithm, pepper: query.pepper },
      }));
      const mxid = isObject(answer.mappings) ? answer.mappings[query.key] : undefined;
      return typeof mxid === 'string' ? mxid : null;
    },

    async storeInvite(idServer, accessToken, invite) {
      const answer = expectOk(idServer, 'store-invite', await call(new URL(`${base(idServer)}/_matrix/identity/v2/store-invite`), idServer, { method: 'POST', accessToken, body: invite }));
      const keys = Array.isArray(answer.public_keys) ? answer.public_keys : [];
      const publicKeys = keys
        .filter(isObject)
        .filter((key): key is { public_key: string; key_validity_url: string } => typeof key.public_key === 'string' && typeof key.key_validity_url === 'string')
        .map((key) => ({ publicKey: key.public_key, keyValidityUrl: key.key_validity_url }));
      if (typeof answer.token !== 'string' || answer.token === '' || publicKeys.length === 0) {
        throw unusable(idServer, 'answered store-invite without a token and public keys');
      }
      return { token: answer.token, displayName: typeof answer.display_name === 'string' ? answer.display_name : '', publicKeys };
    },

    async isKeyValid(keyValidityUrl, publicKey) {
      let url: URL;
      try {
        url = new URL(keyValidityUrl);
      } catch {
        return false;
      }
      if (url.protocol !== 'https:') return false;
      url.searchParams.set('public_key', publicKey);
      try {
        const answer = await call(url, url.host, { method: 'GET' });
        return answer.status === 200 && isObject(answer.json) && answer.json.valid === true;
      } catch {
        return false;
      }
    },

    async bind(idServer, accessToken, request) {
      const answer = expectOk(idServer, '3pid/bind', await call(new URL(`${base(idServer)}/_matrix/identity/v2/3pid/bind`), idServer, {
        method: 'POST',
        accessToken,
        body: { sid: request.sid, client_secret: request.clientSecret, mxid: request.mxid },
      }));
      if (typeof answer.medium !== 'string' || typeof answer.address !== 'string' || answer.mxid !== request.mxid) {
        throw unusable(idServer, 'answered 3pid/bind without the medium, address and user bound');
      }
      return { medium: answer.medium, address: answer.address };
    },

    async unbind(idServer, mxid, threepid) {
      const answer = await call(new URL(`${base(idServer)}/_matrix/identity/v2/3pid/unbind`), idServer, {
        method: 'POST',
        signed: true,
        body: { mxid, threepid: { medium: threepid.medium, address: threepid.address } },
      });
      // 404: the identity server holds no such binding, which is what unbinding wants.
      return (answer.status >= 200 && answer.status < 300) || answer.status === 404;
    },

    close: () => guarded.close(),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
