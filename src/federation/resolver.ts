/**
 * Server-name resolution (server-server API, "Resolving server names"): where to connect for a server
 * name, and which Host header and TLS name to use. The steps are the spec's, in its order; the DNS
 * lookups and the /.well-known fetch are injected, so the decisions are testable without a network.
 * Addresses (A/AAAA) are resolved later, by the client, where the private-address check happens.
 */
import { isIpLiteral, isServerName, splitServerName, type ServerName } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';

export const DEFAULT_FEDERATION_PORT = 8448;
/** The spec's recommended default and maximum for caching a /.well-known answer, and for errors. */
export const WELL_KNOWN_DEFAULT_TTL_MS = 24 * 3600_000;
export const WELL_KNOWN_MAX_TTL_MS = 48 * 3600_000;
export const WELL_KNOWN_ERROR_TTL_MS = 3600_000;
/** How long a resolution that did not come from a cached well-known answer (SRV, A) is reused. */
export const RESOLUTION_TTL_MS = 3600_000;

export interface ResolvedServer {
  /** Host to connect to: a DNS name to look up (A/AAAA), or an IP address without brackets. */
  readonly host: string;
  readonly port: number;
  /** The Host header the request carries. */
  readonly hostHeader: string;
  /** The name the certificate must be valid for, and the SNI; null for an IP address (no SNI). */
  readonly tlsName: string | null;
}

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** What /.well-known/matrix/server said, and until when to believe it. */
export interface WellKnownAnswer {
  /** The `m.server` value; null when the answer was an error or invalid (resolution goes on to SRV). */
  readonly delegated: string | null;
  readonly expiresAt: number;
}

/** A raw HTTP answer to the well-known fetch; undefined when there was none (network error, timeout). */
export interface WellKnownResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface ResolverDeps {
  readonly clock: Clock;
  /** GET https://<hostname>/.well-known/matrix/server (redirects followed); undefined on a network failure. */
  fetchWellKnown(hostname: string): Promise<WellKnownResponse | undefined>;
  /** SRV records of a name; [] when there are none or DNS does not answer. */
  lookupSrv(name: string): Promise<readonly SrvRecord[]>;
}

// ---------------------------------------------------------------------------------------------------------
// The pure decisions.

/** Steps 1 and 2: an IP literal or an explicit port decide without any lookup. Undefined: go on. */
export function resolveWithoutLookup(serverName: ServerName): ResolvedServer | undefined {
  const { host, port } = splitServerName(serverName);
  if (isIpLiteral(serverName)) {
    return { host: unbracket(host), port: port ?? DEFAULT_FEDERATION_PORT, hostHeader: serverName, tlsName: null };
  }
  if (port !== undefined) return { host, port, hostHeader: serverName, tlsName: host };
  return undefined;
}

/**
 * Step 3: the delegated name from a valid well-known answer. Its IP literal or explicit port decide at
 * once; otherwise `srvName` says which hostname's SRV records to look up next (3.3-3.5).
 */
export function resolveDelegated(delegated: ServerName): { resolved: ResolvedServer } | { srvName: string } {
  const { host, port } = splitServerName(delegated);
  if (isIpLiteral(delegated)) {
    return { resolved: { host: unbracket(host), port: port ?? DEFAULT_FEDERATION_PORT, hostHeader: delegated, tlsName: null } };
  }
  if (port !== undefined) return { resolved: { host, port, hostHeader: delegated, tlsName: host } };
  return { srvName: host };
}

/**
 * Steps 3.3-3.5 and 4-6 for a hostname without a port: the SRV target (the lowest priority, then the
 * highest weight) when there is one, else the hostname on 8448. Host header and TLS name stay `hostname`.
 */
export function resolveFromSrv(hostname: string, records: readonly SrvRecord[]): ResolvedServer {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.' && r.port > 0);
  const best = [...usable].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
  if (best === undefined) return { host: hostname, port: DEFAULT_FEDERATION_PORT, hostHeader: hostname, tlsName: hostname };
  return { host: best.name.replace(/\.$/, ''), port: best.port, hostHeader: hostname, tlsName: hostname };
}

/**
 * Reads a well-known answer: the `m.server` value of a 200 JSON object when it is a valid server name,
 * else null. Cached per Cache-Control max-age (or Expires), 24 h without either, never beyond 48 h;
 * errors and invalid answers for an hour. `no-store`/`no-cache` count as zero.
 */
export function readWellKnown(response: WellKnownResponse | undefined, now: number): WellKnownAnswer {
  const failed = { delegated: null, expiresAt: now + WELL_KNOWN_ERROR_TTL_MS };
  if (response === undefined || response.status !== 200) return failed;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(response.body));
  } catch {
    return failed;
  }
  const delegated = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>)['m.server'] : undefined;
  if (typeof delegated !== 'string' || !isServerName(delegated)) return failed;
  return { delegated, expiresAt: now + cacheLifetime(response.headers, now) };
}

/** How long an HTTP answer may be cached, per its headers, within the spec's default and cap. */
export function cacheLifetime(headers: Readonly<Record<string, string>>, now: number): number {
  const cacheControl = (headers['cache-control'] ?? '').toLowerCase();
  if (/(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)/.test(cacheControl)) return 0;
  const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/.exec(cacheControl);
  if (maxAge) return Math.min(Number(maxAge[1]) * 1000, WELL_KNOWN_MAX_TTL_MS);
  const expires = headers.expires === undefined ? Number.NaN : Date.parse(headers.expires);
  if (Number.isFinite(expires)) return Math.min(Math.max(expires - now, 0), WELL_KNOWN_MAX_TTL_MS);
  return WELL_KNOWN_DEFAULT_TTL_MS;
}

function unbracket(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

// ---------------------------------------------------------------------------------------------------------
// The resolver: the steps in order, with the well-known answers and the results cached.

export interface ServerResolver {
  resolve(serverName: ServerName): Promise<ResolvedServer>;
  /** Forgets what is cached for a server (e.g. after its connection failed). */
  forget(serverName: ServerName): void;
}

export function createServerResolver(deps: ResolverDeps): ServerResolver {
  const wellKnown = new Map<string, WellKnownAnswer>();
  const resolved = new Map<string, { result: ResolvedServer; expiresAt: number }>();
  const inFlight = new Map<string, Promise<ResolvedServer>>();

  async function wellKnownOf(hostname: string): Promise<WellKnownAnswer> {
    const cached = wellKnown.get(hostname);
    if (cached && cached.expiresAt > deps.clock.now()) return cached;
    let response: WellKnownResponse | undefined;
    try {
      response = await deps.fetchWellKnown(hostname);
    } catch {
      response = undefined;
    }
    const answer = readWellKnown(response, deps.clock.now());
    wellKnown.set(hostname, answer);
    return answer;
  }

  async function srvFor(hostname: string): Promise<ResolvedServer> {
    const safeLookup = (name: string) => deps.lookupSrv(name).catch(() => [] as readonly SrvRecord[]);
    let records = await safeLookup(`_matrix-fed._tcp.${hostname}`);
    // Deprecated, still published by older deployments.
    if (records.length === 0) records = await safeLookup(`_matrix._tcp.${hostname}`);
    return resolveFromSrv(hostname, records);
  }

  async function lookup(serverName: ServerName): Promise<{ result: ResolvedServer; expiresAt: number }> {
    const now = deps.clock.now();
    const direct = resolveWithoutLookup(serverName);
    if (direct) return { result: direct, expiresAt: Number.POSITIVE_INFINITY };
    const hostname = splitServerName(serverName).host;
    const answer = await wellKnownOf(hostname);
    if (answer.delegated !== null) {
      const step = resolveDelegated(answer.delegated as ServerName);
      const result = 'resolved' in step ? step.resolved : await srvFor(step.srvName);
      return { result, expiresAt: Math.min(answer.expiresAt, now + RESOLUTION_TTL_MS) };
    }
    return { result: await srvFor(hostname), expiresAt: Math.min(answer.expiresAt, now + RESOLUTION_TTL_MS) };
  }

  return {
    async resolve(serverName) {
      const cached = resolved.get(serverName);
      if (cached && cached.expiresAt > deps.clock.now()) return cached.result;
      let pending = inFlight.get(serverName);
      if (!pending) {
        pending = lookup(serverName)
          .then((entry) => {
            resolved.set(serverName, entry);
            return entry.result;
          })
          .finally(() => inFlight.delete(serverName));
        inFlight.set(serverName, pending);
      }
      return pending;
    },
    forget(serverName) {
      resolved.delete(serverName);
      wellKnown.delete(splitServerName(serverName).host);
    },
  };
}
