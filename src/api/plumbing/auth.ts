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
  client: { readonly ip: string; readonly userAgent?: string | undefined },
) => Promise<Requester | undefined>;

declare module 'fastify' {
  interface FastifyInstance {
    /** How 'user' and 'optional-user' routes check tokens; null when the app serves no such route. */
    authenticator: Authenticator | null;
  }
}

/** What a handler receives for its endpoint's auth kind. */
export type RequesterFor<A> = A extends 'user' ? Requester : A extends 'optional-user' ? Requester | null : null;

export function installAuthenticator(app: FastifyInstance, authenticator: Authenticator | null): void {
  app.decorate('authenticator', authenticator);
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
  const requester = await authenticator(token, { ip: request.ip, userAgent: request.headers['user-agent'] });
  if (requester === undefined) {
    throw new MatrixError('M_UNKNOWN_TOKEN', 'The access token is unknown or has been logged out; log in again');
  }
  return requester;
}
