/**
 * Hearth's requests to application services (application service API, "Homeserver -> Application Service
 * API"): the hs_token in the Authorization header (never in the URL, where logs would keep it, as Synapse
 * by default), the /_matrix/app/v1 paths, and the legacy paths when a service answers
 * a v1 path with 404, 405 or 501 (the spec's "Legacy routes"; a service that did is asked the legacy
 * path for ten minutes, then v1 again, as the spec asks that newer endpoints be tried periodically).
 */
import type { HttpClient, HttpResponse, JsonBody } from '../platform/http-client.js';
import type { AppService } from './registration.js';

export interface AppServiceRequest {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** The path after /_matrix/app/v1, e.g. `/transactions/12`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | readonly string[]>>;
  /** An object or array, or JSON text already made (a stored transaction). */
  readonly body?: JsonBody | string;
  readonly timeoutMs: number;
  /** The legacy path when it differs from the v1 path without its prefix; null: there is none (ping). */
  readonly legacyPath?: string | null;
}

export type AppServiceClient = ReturnType<typeof createAppServiceClient>;

/** Statuses that say a service does not know the v1 path (and may know the legacy one). */
const UNKNOWN_PATH = new Set([404, 405, 501]);
const LEGACY_FOR_MS = 10 * 60_000;

export function createAppServiceClient(deps: { readonly http: HttpClient; readonly now: () => number }) {
  /** Per service, until when its legacy paths are used. */
  const legacyUntil = new Map<string, number>();

  function url(service: AppService, path: string, query: AppServiceRequest['query']): URL {
    const target = new URL(`${service.url}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      for (const one of typeof value === 'string' ? [value] : value) target.searchParams.append(key, one);
    }
    return target;
  }

  async function send(service: AppService, path: string, request: AppServiceRequest): Promise<HttpResponse> {
    return deps.http.request(url(service, path, request.query), {
      method: request.method,
      headers: { authorization: `Bearer ${service.hsToken}`, ...(request.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(request.body === undefined ? {} : { body: request.body }),
      timeoutMs: request.timeoutMs,
      maxResponseBytes: 10 * 1024 * 1024,
    });
  }

  return {
    /**
     * One request to the service; rejects when it has no URL or cannot be reached (HttpClientError),
     * resolves with whatever status it answered.
     */
    async request(service: AppService, request: AppServiceRequest): Promise<HttpResponse> {
      if (service.url === null) throw new Error(`the application service ${service.id} has no url`);
      const legacy = request.legacyPath === undefined ? request.path : request.legacyPath;
      if (legacy !== null && (legacyUntil.get(service.id) ?? 0) > deps.now()) return send(service, legacy, request);
      const response = await send(service, `/_matrix/app/v1${request.path}`, request);
      if (legacy === null || !UNKNOWN_PATH.has(response.status)) return response;
      const fallback = await send(service, legacy, request);
      if (!UNKNOWN_PATH.has(fallback.status)) legacyUntil.set(service.id, deps.now() + LEGACY_FOR_MS);
      return fallback;
    },
  };
}
