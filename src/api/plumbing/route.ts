import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import type { AuthOf, BodyOf, Endpoint, HttpMethod, ParamsOf, QueryOf, ResponseOf } from '../../protocol/endpoint.js';
import { MatrixError } from '../../protocol/index.js';
import { guestsMayCall } from '../../protocol/endpoints/guest-access.js';
import { lockedMayCall, refusedWhenSuspended } from '../../protocol/endpoints/account-moderation.js';
import { accountLocked } from '../../users/index.js';
import { authenticate, type Requester, type RequesterFor } from './auth.js';
import type { RateLimiter } from '../../platform/rate-limit.js';

export interface HandlerInput<E extends Endpoint> {
  readonly params: ParamsOf<E>;
  readonly query: QueryOf<E>;
  readonly body: BodyOf<E>;
  /** Who called: a Requester on 'user' routes, Requester or null on 'optional-user', null otherwise. */
  readonly requester: RequesterFor<AuthOf<E>>;
  readonly request: FastifyRequest;
  /** For answers that are not a JSON body (media): set headers on it and return the bytes. */
  readonly reply: FastifyReply;
}

export type Handler<E extends Endpoint> = (input: HandlerInput<E>) => Promise<ResponseOf<E>> | ResponseOf<E>;

const METHODS: readonly HttpMethod[] = ['GET', 'PUT', 'POST', 'DELETE'];

/**
 * Auth kinds whose checks are wired; a route asking for another one fails at start, never open.
 * 'federation': the X-Matrix hook of src/api/federation/auth.ts checks every /_matrix/federation/ path.
 */
const WIRED_AUTH = new Set(['none', 'user', 'optional-user', 'federation', 'appservice', 'optional-appservice']);

/**
 * Registers a contract's handler at its path and every alias. The caller is authenticated first (before
 * the body is read, so a missing token is reported before a bad body), then the contract's schemas
 * validate the request before the handler sees it; the handler returns the 200 body.
 */
export function route<E extends Endpoint>(app: FastifyInstance, endpoint: E, handler: Handler<E>): void {
  if (!WIRED_AUTH.has(endpoint.auth)) {
    throw new Error(`${endpoint.name}: auth kind '${endpoint.auth}' has no check wired yet`);
  }
  if ((endpoint.auth === 'user' || endpoint.auth === 'appservice') && app.authenticator === null) {
    throw new Error(`${endpoint.name}: needs an access token check, but the app was built without an authenticator`);
  }
  if (endpoint.auth === 'federation' && (!app.hasRequestDecorator('federationOrigin') || !endpoint.path.startsWith('/_matrix/federation/'))) {
    throw new Error(`${endpoint.name}: needs the X-Matrix check (installFederationAuth) and a /_matrix/federation/ path`);
  }
  const rateClass = endpoint.rateLimit;
  if (rateClass !== undefined && app.rateLimiter && !app.rateLimiter.knows(rateClass)) {
    throw new Error(`${endpoint.name}: rate-limit class '${rateClass}' has no rule configured`);
  }
  const openToGuests = guestsMayCall(endpoint);
  const openWhenLocked = lockedMayCall(endpoint);
  const closedWhenSuspended = refusedWhenSuspended(endpoint);
  const schema: Record<string, TSchema> = {};
  if (endpoint.params) schema.params = endpoint.params;
  if (endpoint.query) schema.querystring = endpoint.query;
  if (endpoint.body) schema.body = endpoint.body;
  for (const path of [endpoint.path, ...(endpoint.aliases ?? [])]) {
    const url = toFastifyPath(path);
    app.route({
      method: endpoint.method,
      url,
      schema,
      config: { endpoint: endpoint.name },
      onRequest: async (request) => {
        const requester = await authenticate(app, request, endpoint.auth);
        if (requester?.isGuest && !openToGuests) {
          throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest accounts cannot do this; register a full account first');
        }
        if (requester?.locked && !openWhenLocked) throw accountLocked();
        if (requester?.suspended && closedWhenSuspended) {
          throw new MatrixError('M_USER_SUSPENDED', 'Your account is suspended by a server admin: you cannot do this while it is');
        }
        // An application service's requests are limited only where its registration says so (rate_limited).
        if (rateClass !== undefined && app.rateLimiter && requester?.appservice?.rateLimited !== false) {
          await enforceRateLimit(app.rateLimiter, rateClass, requester, request);
        }
        request.requester = requester;
      },
      handler: async (request, reply) =>
        handler({
          params: request.params as ParamsOf<E>,
          query: request.query as QueryOf<E>,
          body: request.body as BodyOf<E>,
          // authenticate() gives what the auth kind promises: never null on 'user' routes.
          requester: request.requester as RequesterFor<AuthOf<E>>,
          request,
          reply,
        }),
    });
  }
}

/**
 * Takes a token from the caller's bucket (by user when signed in, else by address) or refuses with 429.
 * A client retransmitting a send with a txn id already used takes a token too, though the reply is the
 * stored one; the limit is checked before the handler, which is the one that knows the txn id.
 */
export async function enforceRateLimit(limiter: RateLimiter, rateClass: string, requester: Requester | null, request: FastifyRequest): Promise<void> {
  const decision = await limiter.take(rateClass, { userId: requester?.userId ?? null, ip: request.ip });
  if (decision.allowed) return;
  const seconds = Math.ceil(decision.retryAfterMs / 1000);
  throw new MatrixError('M_LIMIT_EXCEEDED', `Too many requests; try again in ${seconds} s`, {
    extra: { retry_after_ms: decision.retryAfterMs },
    headers: { 'retry-after': String(seconds) },
  });
}

/**
 * A known path asked with a method it does not have is 405 M_UNRECOGNIZED, not 404. Call this before any
 * route is registered, and call the function it returns after the last plugin is registered: that
 * plugin loads last and adds the other methods to each path seen.
 */
export function answerUnknownMethods(app: FastifyInstance): () => void {
  const seen = new Map<string, Set<string>>();
  app.addHook('onRoute', (options) => {
    if ((options.config as { methodFallback?: boolean } | undefined)?.methodFallback) return;
    let methods = seen.get(options.url);
    if (!methods) seen.set(options.url, (methods = new Set()));
    for (const method of [options.method].flat()) methods.add(method);
  });
  return () => void app.register(async (scope) => {
    for (const [url, methods] of seen) {
      const others = METHODS.filter((method) => !methods.has(method));
      if (others.length === 0) continue;
      const own = [...methods].filter((method) => method !== 'HEAD');
      scope.route({
        method: others,
        url,
        config: { methodFallback: true },
        handler: async (request) => {
          throw new MatrixError('M_UNRECOGNIZED', `${request.method} is not supported here; use ${own.join(' or ')}`, {
            status: 405,
            headers: { allow: [...own, 'OPTIONS'].join(', ') },
          });
        },
      });
    }
  });
}

/** `/rooms/{roomId}/join` becomes `/rooms/:roomId/join`. */
export function toFastifyPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}
