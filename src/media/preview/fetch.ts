/**
 * Fetching the pages and pictures URL previews are made from. The URL comes from a user, so every
 * connection goes through a guarded agent (src/platform/guarded-agent.ts: addresses checked inside the
 * connection's own DNS lookup, IP literals before connecting, private ranges refused unless allowed), and
 * each redirect is a new request checked the same way, denied hosts included.
 */
import type { LookupAddress } from 'node:dns';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { createGuardedAgent, isBlockedAddress, type AddressPolicy } from '../../platform/guarded-agent.js';
import { readCapped, type HttpClientOptions } from '../../platform/http-client.js';

/** Which addresses previews may reach (AddressPolicy), and how pages are asked for. */
export interface PreviewFetchOptions extends AddressPolicy {
  readonly userAgent: string;
  /** Deadline for one request: connecting, sending, and reading the whole answer. */
  readonly timeoutMs: number;
  /** A larger answer is abandoned (kind 'too_large'). */
  readonly maxBytes: number;
  /** Host names refused, at the start and at every redirect (patterns as isDeniedHost). */
  readonly deniedHosts: readonly string[];
  /** The Accept-Language header sent. */
  readonly acceptLanguage: string;
  /**
   * Trust for https, as the other outbound clients have it (federation.ca_files and verify_tls): PEM
   * certificates trusted beside Node's bundled roots, or `verify: false` to accept any (test networks).
   */
  readonly tls?: HttpClientOptions['tls'];
  /** Resolves a host name to all its addresses; default: the system resolver. */
  readonly lookupAll?: (hostname: string) => Promise<LookupAddress[]>;
}

export type PreviewFetchErrorKind = 'blocked' | 'unreachable' | 'timeout' | 'too_large' | 'status' | 'redirects';

/** Why a page or picture could not be fetched; the message names the URL's host, never its query. */
export class PreviewFetchError extends Error {
  constructor(readonly kind: PreviewFetchErrorKind, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PreviewFetchError';
  }
}

export interface FetchedResource {
  /** Where the answer came from, after redirects: relative links in a page resolve against it. */
  readonly url: URL;
  /** The Content-Type header's media type, lower-cased, without parameters; undefined when absent. */
  readonly mediaType: string | undefined;
  /** The whole Content-Type header (its charset parameter decodes a page). */
  readonly contentType: string | undefined;
  readonly body: Uint8Array;
}

export interface PreviewFetcher {
  /** GETs `url`, following up to five redirects; rejects with a PreviewFetchError. */
  fetch(url: URL, accept: string): Promise<FetchedResource>;
  close(): Promise<void>;
}

const MAX_REDIRECTS = 5;

/** Whether `host` is one of the denied hosts (patterns: "example.com" names that host, "*.example.com" its subdomains). */
export function isDeniedHost(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((pattern) => {
    const wanted = pattern.toLowerCase().replace(/\.$/, '');
    return wanted.startsWith('*.') ? name.endsWith(wanted.slice(1)) : name === wanted;
  });
}

export function createPreviewFetcher(options: PreviewFetchOptions): PreviewFetcher {
  const guarded = createGuardedAgent({ ...options, configName: 'url_previews' });

  async function once(url: URL, accept: string, signal: AbortSignal) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isDeniedHost(host, options.deniedHosts)) throw new PreviewFetchError('blocked', `${host} is not previewed on this server`);
    try {
      guarded.checkHost(host);
      return await request(url, {
        dispatcher: guarded.agent,
        method: 'GET',
        headers: { 'user-agent': options.userAgent, accept, 'accept-language': options.acceptLanguage },
        signal,
      });
    } catch (err) {
      throw failure(err, url, signal);
    }
  }

  return {
    async fetch(start: URL, accept: string): Promise<FetchedResource> {
      const signal = AbortSignal.timeout(options.timeoutMs);
      let url = start;
      for (let hop = 0; ; hop++) {
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PreviewFetchError('blocked', `a redirect to a ${url.protocol} URL is not followed`);
        const response = await once(url, accept, signal);
        const location = header(response.headers.location);
        if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
          response.body.on('error', () => undefined).resume();
          if (hop >= MAX_REDIRECTS) throw new PreviewFetchError('redirects', `${start.host} redirects more than ${MAX_REDIRECTS} times`);
          try {
            url = new URL(location, url);
          } catch (err) {
            throw new PreviewFetchError('status', `${url.host} redirects to something that is not a URL`, { cause: err });
          }
          continue;
        }
        if (response.statusCode < 200 || response.statusCode >= 300) {
          response.body.on('error', () => undefined).resume();
          throw new PreviewFetchError('status', `${url.host} answered HTTP ${response.statusCode}`);
        }
        const contentType = header(response.headers['content-type']);
        const body = await readBody(response.body, header(response.headers['content-length']), options.maxBytes, url, signal);
        return {
          url,
          mediaType: contentType?.split(';')[0]?.trim().toLowerCase() || undefined,
          contentType,
          body,
        };
      }
    },
    close: () => guarded.close(),
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The body, whole, up to the cap; a failure on the way is the fetch's failure. */
async function readBody(stream: Readable, declared: string | undefined, limit: number, url: URL, signal: AbortSignal): Promise<Uint8Array> {
  try {
    return await readCapped(stream, declared, limit, () => new PreviewFetchError('too_large', `${url.host} answered with more than ${limit} bytes`));
  } catch (err) {
    throw failure(err, url, signal);
  }
}

function failure(err: unknown, url: URL, signal: AbortSignal): PreviewFetchError {
  if (err instanceof PreviewFetchError) return err;
  if (signal.aborted) return new PreviewFetchError('timeout', `${url.host} did not answer in time`, { cause: err });
  if (isBlockedAddress(err)) return new PreviewFetchError('blocked', err instanceof Error ? err.message : `${url.hostname} may not be reached`, { cause: err });
  const detail = err instanceof Error ? err.message : String(err);
  return new PreviewFetchError('unreachable', `${url.host} could not be reached: ${detail}`, { cause: err });
}
