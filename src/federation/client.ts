/**
 * The outbound federation client: a JSON request to another homeserver, signed with X-Matrix, sent to
 * wherever its server name resolves, over the shared undici client (TLS trust from federation.ca_files and
 * federation.verify_tls). Addresses are checked after DNS: loopback, private and link-local ones are refused
 * unless federation.allow_private_addresses is on.
 */
import { lookup as dnsLookup, resolveSrv } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SigningKey } from '../crypto/index.js';
import type { HttpMethod } from '../protocol/endpoint.js';
import { MatrixError, isServerName, type ServerName } from '../protocol/index.js';
import { HttpClientError, type HttpClient, type HttpResponse, type JsonBody } from '../platform/http-client.js';
import type { Logger } from '../platform/logger.js';
import { isPrivateAddress } from '../platform/addresses.js';
import type { ServerResolver, SrvRecord, WellKnownResponse } from './resolver.js';
import { signRequest } from './x-matrix.js';

export interface FederationRequestOptions {
  /** Query parameters; an array gives the parameter once per value. */
  readonly query?: Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;
  /** The JSON body; PUT and POST without one send `{}`, as the spec requires a body on them. */
  readonly body?: JsonBody;
  readonly timeoutMs?: number;
  /** Overrides the HTTP client's cap on the response's size (media). */
  readonly maxResponseBytes?: number;
}

/**
 * A signed request to `destination` (a server name). `path` starts with `/_matrix/` and has its parameters
 * already percent-encoded (encodeURIComponent). Resolves with the 2xx JSON body; rejects with a
 * FederationRequestError otherwise.
 */
export interface FederationClient {
  request<T>(destination: string, method: HttpMethod, path: string, options?: FederationRequestOptions): Promise<T>;
  /**
   * The same request for an answer that is not JSON (media): resolves with the whole 2xx response, status,
   * headers and bytes; rejects with a FederationRequestError otherwise.
   */
  fetch(destination: string, method: HttpMethod, path: string, options?: FederationRequestOptions): Promise<HttpResponse>;
}

export type FederationFailure =
  /** The remote answered with a non-2xx status; remoteErrcode is set when its body was Matrix JSON. */
  | 'remote'
  /** The destination's name is not a server name. */
  | 'invalid_destination'
  /** Every address it resolves to is private or loopback, and those are not allowed. */
  | 'refused'
  /** No connection or no complete answer (DNS, TCP, TLS, reset, too large). */
  | 'unreachable'
  | 'timeout'
  /** A 2xx answer whose body is not JSON. */
  | 'invalid_response'
  /** The answer ran past the size cap. */
  | 'too_large';

/**
 * Why a federation request failed. It is a MatrixError (M_UNKNOWN, 502 or 504) so that a handler which
 * lets it through answers sensibly; handlers that care look at `kind` and `remoteErrcode`.
 */
export class FederationRequestError extends MatrixError {
  readonly destination: string;
  readonly kind: FederationFailure;
  /** The remote's HTTP status, for kind 'remote' and 'invalid_response'. */
  readonly remoteStatus: number | undefined;
  /** The remote's errcode when it answered with a Matrix error body (`M_NOT_FOUND`, `M_FORBIDDEN` ...). */
  readonly remoteErrcode: string | undefined;
  /** The remote's `error` message, for logs; do not pass it on to clients unexamined. */
  readonly remoteError: string | undefined;
  /** The `room_version` an M_INCOMPATIBLE_ROOM_VERSION answer names (make_join, invite). */
  readonly remoteRoomVersion: string | undefined;

  constructor(
    destination: string,
    kind: FederationFailure,
    message: string,
    details: { remoteStatus?: number; remoteErrcode?: string; remoteError?: string; remoteRoomVersion?: string; cause?: unknown } = {},
  ) {
    super('M_UNKNOWN', message, { status: kind === 'timeout' ? 504 : 502, ...(details.cause === undefined ? {} : { cause: details.cause }) });
    this.name = 'FederationRequestError';
    this.destination = destination;
    this.kind = kind;
    this.remoteStatus = details.remoteStatus;
    this.remoteErrcode = details.remoteErrcode;
    this.remoteError = details.remoteError;
    this.remoteRoomVersion = details.remoteRoomVersion;
  }
}

/** Name lookups, injectable for tests. */
export interface AddressLookup {
  /** The A/AAAA addresses of a name (CNAMEs followed). */
  lookupHost(name: string): Promise<readonly string[]>;
}

export const systemDns: AddressLookup & { lookupSrv(name: string): Promise<readonly SrvRecord[]> } = {
  async lookupHost(name) {
    const found = await dnsLookup(name, { all: true, verbatim: true });
    return found.map((entry) => entry.address);
  },
  async lookupSrv(name) {
    try {
      return await resolveSrv(name);
    } catch {
      // ENOTFOUND, ENODATA, a resolver that cannot answer: no SRV records, fall through to the next step.
      return [];
    }
  },
};

export interface FederationClientDeps {
  readonly serverName: string;
  readonly signingKey: SigningKey;
  readonly http: HttpClient;
  readonly resolver: ServerResolver;
  readonly dns: AddressLookup;
  readonly allowPrivateAddresses: boolean;
  readonly log: Logger;
}

/** The addresses of `host` we may connect to, in DNS order; throws 'refused' when none is allowed. */
export async function connectableAddresses(
  destination: string,
  host: string,
  dns: AddressLookup,
  allowPrivateAddresses: boolean,
): Promise<string[]> {
  let addresses: readonly string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await dns.lookupHost(host);
    } catch (err) {
      throw new FederationRequestError(destination, 'unreachable', `Could not resolve ${host} (for ${destination})`, { cause: err });
    }
  }
  const allowed = allowPrivateAddresses ? [...addresses] : addresses.filter((address) => !isPrivateAddress(address));
  if (allowed.length === 0) {
    throw new FederationRequestError(
      destination,
      addresses.length === 0 ? 'unreachable' : 'refused',
      addresses.length === 0
        ? `${host} (for ${destination}) has no address`
        : `${destination} resolves only to private or loopback addresses; federation.allow_private_addresses is off`,
    );
  }
  return allowed;
}

function urlHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/** `?a=1&b=x&b=y`, every part percent-encoded; '' for no parameters. */
export function formatQuery(query: FederationRequestOptions['query']): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(one))}`);
    }
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

export function createFederationClient(deps: FederationClientDeps): FederationClient {
  const log = deps.log.child({ component: 'federation-client' });

  async function send(destination: ServerName, method: HttpMethod, uri: string, body: JsonBody | undefined, options: FederationRequestOptions): Promise<HttpResponse> {
    const { timeoutMs, maxResponseBytes } = options;
    const target = await deps.resolver.resolve(destination);
    const addresses = await connectableAddresses(destination, target.host, deps.dns, deps.allowPrivateAddresses);
    const authorization = signRequest(
      { method, uri, origin: deps.serverName, destination, ...(body === undefined ? {} : { content: body }) },
      deps.signingKey,
    );
    let lastError: unknown;
    // A name with several addresses: the next one is tried when one cannot be reached at all.
    for (const address of addresses.slice(0, 3)) {
      try {
        return await deps.http.request(`https://${urlHost(address)}:${target.port}${uri}`, {
          method,
          headers: { authorization, host: target.hostHeader },
          ...(body === undefined ? {} : { body }),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
        });
      } catch (err) {
        lastError = err;
        if (!(err instanceof HttpClientError) || err.kind !== 'network') break;
      }
    }
    deps.resolver.forget(destination);
    const where = `${method} ${uri.split('?')[0]} on ${destination}`;
    if (lastError instanceof HttpClientError && lastError.kind === 'too_large') {
      throw new FederationRequestError(destination, 'too_large', `${where} answered with more than ${maxResponseBytes ?? 'the allowed'} bytes`, { cause: lastError });
    }
    if (lastError instanceof HttpClientError && lastError.kind === 'timeout') {
      throw new FederationRequestError(destination, 'timeout', `${where} timed out`, { cause: lastError });
    }
    const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
    throw new FederationRequestError(destination, 'unreachable', `${where} failed${detail}`, { cause: lastError });
  }

  function begin(destination: string, method: HttpMethod, path: string, options: FederationRequestOptions): Promise<HttpResponse> {
    if (!isServerName(destination)) {
      throw new FederationRequestError(String(destination).slice(0, 100), 'invalid_destination', 'The destination is not a valid server name');
    }
    if (!path.startsWith('/')) throw new TypeError(`federation path must start with '/': ${path}`);
    const body = options.body ?? (method === 'PUT' || method === 'POST' ? {} : undefined);
    return send(destination, method, `${path}${formatQuery(options.query)}`, body, options);
  }

  function refusal(destination: string, method: HttpMethod, path: string, response: HttpResponse, json: unknown): FederationRequestError {
    const errcode = matrixErrorField(json, 'errcode');
    const error = matrixErrorField(json, 'error');
    const roomVersion = matrixErrorField(json, 'room_version');
    log.debug({ destination, method, path, status: response.status, errcode }, 'federation request refused');
    return new FederationRequestError(
      destination,
      'remote',
      `${method} ${path} on ${destination} answered HTTP ${response.status}${errcode === undefined ? '' : ` ${errcode}`}`,
      {
        remoteStatus: response.status,
        ...(errcode === undefined ? {} : { remoteErrcode: errcode }),
        ...(error === undefined ? {} : { remoteError: error }),
        ...(roomVersion === undefined ? {} : { remoteRoomVersion: roomVersion }),
      },
    );
  }

  return {
    async fetch(destination: string, method: HttpMethod, path: string, options: FederationRequestOptions = {}): Promise<HttpResponse> {
      const response = await begin(destination, method, path, options);
      if (response.status >= 200 && response.status < 300) return response;
      let json: unknown;
      try {
        json = response.json();
      } catch {
        json = undefined;
      }
      throw refusal(destination, method, path, response, json);
    },

    async request<T>(destination: string, method: HttpMethod, path: string, options: FederationRequestOptions = {}): Promise<T> {
      const response = await begin(destination, method, path, options);
      const where = `${method} ${path} on ${destination}`;
      let json: unknown;
      try {
        json = response.json();
      } catch (err) {
        if (response.status >= 200 && response.status < 300) {
          throw new FederationRequestError(destination, 'invalid_response', `${where} answered with something other than JSON`, {
            remoteStatus: response.status,
            cause: err,
          });
        }
        json = undefined;
      }
      if (response.status >= 200 && response.status < 300) return json as T;
      throw refusal(destination, method, path, response, json);
    },
  };
}

function matrixErrorField(json: unknown, field: 'errcode' | 'error' | 'room_version'): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const value = (json as Record<string, unknown>)[field];
  return typeof value === 'string' ? value.slice(0, field === 'error' ? 500 : 100) : undefined;
}

export interface WellKnownFetchDeps {
  readonly http: HttpClient;
  readonly dns: AddressLookup;
  readonly allowPrivateAddresses: boolean;
  /** Default 443; tests point it at a local server. */
  readonly port?: number;
}

const WELL_KNOWN_PATH = '/.well-known/matrix/server';
const MAX_REDIRECTS = 5;

/**
 * GET https://<hostname>/.well-known/matrix/server for the resolver, following up to five https
 * redirects (no loops), with the same address rules as federation requests. Undefined when there was no
 * answer at all; any HTTP answer (404 included) is returned for the resolver to judge.
 */
export function wellKnownFetcher(deps: WellKnownFetchDeps): (hostname: string) => Promise<WellKnownResponse | undefined> {
  return async (hostname) => {
    let url = new URL(`https://${hostname}${deps.port === undefined ? '' : `:${deps.port}`}${WELL_KNOWN_PATH}`);
    const seen = new Set<string>();
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (url.protocol !== 'https:' || seen.has(url.href)) return undefined;
      seen.add(url.href);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      let addresses: string[];
      try {
        addresses = await connectableAddresses(hostname, host, deps.dns, deps.allowPrivateAddresses);
      } catch {
        return undefined;
      }
      const port = url.port === '' ? 443 : Number(url.port);
      let response: HttpResponse;
      try {
        response = await deps.http.request(`https://${urlHost(addresses[0]!)}:${port}${url.pathname}${url.search}`, {
          headers: { host: url.host },
          timeoutMs: 10_000,
          maxResponseBytes: 64 * 1024,
        });
      } catch {
        return undefined;
      }
      const location = response.headers.location;
      if (response.status >= 300 && response.status < 400 && location !== undefined) {
        try {
          url = new URL(location, url);
        } catch {
          return undefined;
        }
        continue;
      }
      return { status: response.status, headers: response.headers, body: response.body };
    }
    return undefined;
  };
}
