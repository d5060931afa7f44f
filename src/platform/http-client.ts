import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, request as undiciRequest } from 'undici';
import type { Logger } from './logger.js';

/**
 * The outbound HTTP port for federation and push: one keep-alive connection pool, a deadline on every
 * request, and a cap on how much of a response we buffer, so a remote server can neither hang us nor
 * make us hold gigabytes. Redirects are not followed. Responses are read whole; `json()` and `text()`
 * then decode synchronously.
 */

export interface HttpClientOptions {
  readonly log: Logger;
  readonly userAgent: string;
  /** Deadline for a whole request: connecting, sending, and reading the entire response. */
  readonly timeoutMs: number;
  /** Responses with a larger body are aborted with an `HttpClientError` of kind 'too_large'. */
  readonly maxResponseBytes: number;
  /**
   * Trust for https: `extraCaPems` are PEM certificates trusted beside Node's bundled roots (federation's
   * ca_files); `verify: false` accepts any certificate (test networks only). Default: the bundled roots.
   */
  readonly tls?: { readonly extraCaPems?: readonly string[]; readonly verify?: boolean };
}

export type JsonBody = Readonly<Record<string, unknown>> | readonly unknown[];

export interface HttpRequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** An object or array is sent as JSON; a string or bytes are sent as they are. */
  readonly body?: JsonBody | string | Uint8Array;
  readonly signal?: AbortSignal;
  /** Overrides the client's deadline for this request (e.g. a slow /send_join). */
  readonly timeoutMs?: number;
  /** Overrides the client's response cap for this request. */
  readonly maxResponseBytes?: number;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Throws an `HttpClientError` of kind 'invalid_json' when the body is not JSON. */
  json(): unknown;
  text(): string;
}

export interface HttpClient {
  /** Resolves for every HTTP status; rejects with an `HttpClientError` when there is no usable response. */
  request(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  /** Lets in-flight requests finish, then closes the pooled connections. */
  close(): Promise<void>;
}

export type HttpClientErrorKind = 'invalid_url' | 'timeout' | 'aborted' | 'too_large' | 'network' | 'invalid_json' | 'closed';

/** Why a request produced no usable response. `kind` lets federation choose a back-off. */
export class HttpClientError extends Error {
  readonly kind: HttpClientErrorKind;
  /** Origin and path only: query strings may carry secrets. */
  readonly url: string;

  constructor(kind: HttpClientErrorKind, url: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpClientError';
    this.kind = kind;
    this.url = url;
  }
}

/** The TLS connect options of an outbound client trusting as `tls` says (HttpClientOptions.tls). */
export function tlsTrust(tls: HttpClientOptions['tls']): { ca?: string[]; rejectUnauthorized?: false } {
  const extraCa = tls?.extraCaPems ?? [];
  return {
    // Giving `ca` replaces Node's roots, so the extra ones are added to them.
    ...(extraCa.length > 0 ? { ca: [...rootCertificates, ...extraCa] } : {}),
    ...(tls?.verify === false ? { rejectUnauthorized: false as const } : {}),
  };
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const log = options.log.child({ component: 'http-client' });
  const agent = new Agent({
    connect: { timeout: options.timeoutMs, ...tlsTrust(options.tls) },
    keepAliveTimeout: 30_000,
  });
  let closed = false;

  async function request(url: string | URL, requestOptions: HttpRequestOptions = {}): Promise<HttpResponse> {
    const target = parseTarget(url);
    const where = `${target.origin}${target.pathname}`;
    if (closed) throw new HttpClientError('closed', where, 'the HTTP client is closed');
    const method = (requestOptions.method ?? 'GET').toUpperCase();
    const timeoutMs = requestOptions.timeoutMs ?? options.timeoutMs;
    const limit = requestOptions.maxResponseBytes ?? options.maxResponseBytes;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = requestOptions.signal === undefined ? deadline : AbortSignal.any([requestOptions.signal, deadline]);
    const { headers, body } = prepare(options.userAgent, requestOptions);
    const started = performance.now();

    try {
      // The signal is the deadline for the whole exchange; undici's own header and body timers are longer.
      const response = await undiciRequest(target, { dispatcher: agent, method, headers, body, signal });
      const bytes = await readCapped(response.body, response.headers['content-length'], limit, () =>
        new HttpClientError('too_large', where, `response from ${where} is larger than ${limit} bytes; aborted`));
      const elapsedMs = Math.round(performance.now() - started);
      log.debug({ method, url: where, status: response.statusCode, bytes: bytes.length, elapsedMs }, 'http request');
      return makeResponse(response.statusCode, flattenHeaders(response.headers), bytes, where);
    } catch (err) {
      const failure = classify(err, where, timeoutMs, deadline, requestOptions.signal);
      log.debug({ method, url: where, kind: failure.kind, err: failure.cause ?? failure }, 'http request failed');
      throw failure;
    }
  }

  return {
    request,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await agent.close();
    },
  };
}

function parseTarget(url: string | URL): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    throw new HttpClientError('invalid_url', String(url).slice(0, 200), `'${String(url).slice(0, 200)}' is not a URL`, { cause: err });
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new HttpClientError('invalid_url', target.origin, `only http and https URLs can be fetched, not ${target.protocol}`);
  }
  return target;
}

function prepare(
  userAgent: string,
  requestOptions: HttpRequestOptions,
): { headers: Record<string, string>; body: string | Uint8Array | undefined } {
  const headers: Record<string, string> = { 'user-agent': userAgent };
  let body: string | Uint8Array | undefined;
  const given = requestOptions.body;
  if (typeof given === 'string' || given instanceof Uint8Array) {
    body = given;
  } else if (given !== undefined) {
    body = JSON.stringify(given);
    headers['content-type'] = 'application/json';
  }
  for (const [name, value] of Object.entries(requestOptions.headers ?? {})) headers[name.toLowerCase()] = value;
  return { headers, body };
}

/**
 * Reads a response body, refusing early on a declared length over the cap and stopping as soon as it
 * passes it (the body is destroyed, which aborts the request); `tooLarge` makes the error thrown then.
 */
export async function readCapped(
  stream: Readable,
  declaredLength: string | string[] | undefined,
  limit: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  // Destroying the body aborts the request and closes the socket; the abort's own error is expected.
  const abandon = () => stream.on('error', () => {}).destroy();
  const declared = typeof declaredLength === 'string' ? Number(declaredLength) : Number.NaN;
  if (declared > limit) {
    abandon();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > limit) {
      abandon();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function classify(
  err: unknown,
  where: string,
  timeoutMs: number,
  deadline: AbortSignal,
  callerSignal: AbortSignal | undefined,
): HttpClientError {
  if (err instanceof HttpClientError) return err;
  if (callerSignal?.aborted === true) {
    return new HttpClientError('aborted', where, `request to ${where} was cancelled`, { cause: err });
  }
  if (deadline.aborted || isUndiciTimeout(err)) {
    return new HttpClientError('timeout', where, `request to ${where} timed out after ${timeoutMs} ms`, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new HttpClientError('network', where, `request to ${where} failed: ${detail}`, { cause: err });
}

function isUndiciTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function makeResponse(status: number, headers: Record<string, string>, body: Uint8Array, where: string): HttpResponse {
  let text: string | undefined;
  const decode = () => (text ??= new TextDecoder('utf-8').decode(body));
  return {
    status,
    headers,
    body,
    text: decode,
    json(): unknown {
      try {
        return JSON.parse(decode());
      } catch (err) {
        const type = headers['content-type'] ?? 'none';
        throw new HttpClientError('invalid_json', where,
          `response from ${where} (HTTP ${status}, content-type ${type}) is not valid JSON`, { cause: err });
      }
    },
  };
}
