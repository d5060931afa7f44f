import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthKind } from '../../protocol/endpoint.js';
import { MatrixError } from '../../protocol/index.js';
import type { Requester } from '../../users/index.js';

export type { Requester };

/**
 * Finds who an access token belongs to; undefined for a token that is unknown or revoked. `client` says
 * where the request came from (a device's last-seen address).
 */
export type Authenticator = (
  accessToken: string,
  client: {
    readonly ip: string;
    readonly userAgent?: string | undefined;
    /**
     * The `user_id` and `device_id` query parameters: whom an application service's as_token acts for
     * (application service API, "Identity assertion"). Users' own tokens ignore them.
     */
    readonly actAs?: { readonly userId?: unknown; readonly deviceId?: unknown } | undefined;
  },
) => Promise<Requester | undefined>;

/** Finds the application service requester an as_token stands for; undefined for any other token. */
export type AppServiceAuthenticator = (
  accessToken: string,
  actAs: { readonly userId?: unknown; readonly deviceId?: unknown },
) => Promise<Requester | undefined>;

declare module 'fastify' {
  interface FastifyInstance {
    /** How 'user', 'optional-user' and 'appservice' routes check tokens; null when the app serves no such route. */
    authenticator: Authenticator | null;
    /** How 'optional-appservice' routes read an as_token; null: no application services. */
    appServiceAuthenticator: AppServiceAuthenticator | null;
  }
  interface FastifyRequest {
    /**
     * Who route()'s onRequest hook found the request is from, for its handler; null for no one. A request
     * decorator rather than a WeakMap keyed by request: a WeakMap's set cost about 3 µs with the thousands of
     * long-polls a server holds (the garbage collector walks its entries too), a declared property 20 ns.
     */
    requester: Requester | null;
  }
}

/** What a handler receives for its endpoint's auth kind. */
export type RequesterFor<A> = A extends 'appservice'
  ? Requester & { readonly appservice: NonNullable<Requester['appservice']> }
  : A extends 'user'
    ? Requester
    : A extends 'optional-user' | 'optional-appservice'
      ? Requester | null
      : null;

export function installAuthenticator(app: FastifyInstance, authenticator: Authenticator | null, appServices: AppServiceAuthenticator | null = null): void {
  app.decorate('authenticator', authenticator);
  app.decorate('appServiceAuthenticator', appServices);
  app.decorateRequest('requester', null);
}

function actAsOf(request: FastifyRequest) {
  const query = request.query as Record<string, unknown> | undefined;
  return { userId: query?.user_id, deviceId: query?.device_id };
}

/**
 * The request's access token: `Authorization: Bearer TOKEN`, or the deprecated `access_token` query
 * parameter. Giving it twice, or in a header of another scheme, is refused as Synapse does.
 */
export function accessTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const query = (request.query as Record<string, unknown> | undefined)?.access_token;
  let fromHeader: string | undefined;
  if (header !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match?.[1]) throw new MatrixError('M_MISSING_TOKEN', 'The Authorization header must be "Bearer ACCESS_TOKEN"');
    fromHeader = match[1];
  }
  if (query !== undefined) {
    if (fromHeader !== undefined) {
      throw new MatrixError('M_MISSING_TOKEN', 'Give the access token either in the Authorization header or in the query, not both');
    }
    if (typeof query !== 'string' || query === '') {
      throw new MatrixError('M_MISSING_TOKEN', 'The access_token query parameter must be given once');
    }
    return query;
  }
  return fromHeader;
}

/** Runs the auth kind's check; 'none' gives null. Other kinds never get here (route() refuses them). */
export async function authenticate(app: FastifyInstance, request: FastifyRequest, kind: AuthKind): Promise<Requester | null> {
  if (kind === 'optional-appservice') {
    let token: string | undefined;
    try {
      token = accessTokenOf(request);
    } catch {
      return null;
    }
    if (token === undefined || app.appServiceAuthenticator === null) return null;
    return (await app.appServiceAuthenticator(token, actAsOf(request))) ?? null;
  }
  if (kind === 'appservice') {
    const requester = await authenticate(app, request, 'user');
    if (requester?.appservice === undefined) throw new MatrixError('M_FORBIDDEN', "Only application services can do this (with their as_token)");
    return requester;
  }
  if (kind !== 'user' && kind !== 'optional-user') return null;
  const authenticator = app.authenticator;
  if (authenticator === null) {
    if (kind === 'user') throw new Error('a user route was served without an authenticator');
    return null;
  }
  const token = accessTokenOf(request);
  if (token === undefined) {
    if (kind === 'optional-user') return null;
    throw new MatrixError('M_MISSING_TOKEN', 'This request needs an access token (Authorization: Bearer ...)');
  }
  // user_id and device_id mean something only to an application service's token.
  const actAs = app.appServiceAuthenticator === null ? undefined : actAsOf(request);
  const requester = await authenticator(token, { ip: request.ip, userAgent: request.headers['user-agent'], actAs });
  if (requester === undefined) {
    throw new MatrixError('M_UNKNOWN_TOKEN', 'The access token is unknown or has been logged out; log in again');
  }
  return requester;
}
