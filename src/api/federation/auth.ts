/**
 * Inbound X-Matrix authentication for the Server-Server API.
 *
 * How to add an authenticated federation endpoint:
 *
 *   // src/protocol/endpoints/federation.ts: the contract, with auth: 'federation'
 *   export const getEvent = defineEndpoint({ name: 'getEvent', method: 'GET',
 *     path: '/_matrix/federation/v1/event/{eventId}', auth: 'federation', params: ..., response: ... });
 *
 *   // src/api/federation/<your file>.ts: the handler gets `origin`, the verified sending server
 *   federationRoute(app, getEvent, async ({ params, origin }) => events.forServer(origin, params.eventId));
 *
 * Every route under /_matrix/federation/ is checked by one preValidation hook (installed by buildApp before
 * any route), whatever registered it, except the two the spec leaves open: GET /_matrix/federation/v1/version
 * and /_matrix/federation/v1/openid/userinfo. The hook parses the Authorization header, requires its
 * destination (when given; servers before v1.3 omit it) to be this server, fetches the origin's current key
 * through the keyring, and verifies the signature over {method, uri as received, origin, destination,
 * content (the parsed JSON body, when there is one)}. Failures are M_UNAUTHORIZED saying why: 400 for a
 * header that cannot be read (or names no valid origin), 401 for one that does not check out. On
 * success `request.federationOrigin` is the origin's server name. Without a keyring (an app built without
 * federation) every such request is refused: the check fails closed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Endpoint, ResponseOf } from '../../protocol/endpoint.js';
import { MatrixError, isServerName } from '../../protocol/index.js';
import { parseXMatrix, verifyRequestSignature, XMatrixParseError, type Keyring } from '../../federation/index.js';
import type { Clock } from '../../platform/clock.js';
import { route, type HandlerInput } from '../plumbing/route.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The server that signed this request; set on authenticated /_matrix/federation/ routes, '' elsewhere. */
    federationOrigin: string;
  }
}

export interface FederationAuthDeps {
  readonly serverName: string;
  readonly keys: Pick<Keyring, 'keyValidAt'>;
  readonly clock: Clock;
}

/** The federation paths the spec leaves unauthenticated. */
export const UNAUTHENTICATED_FEDERATION_PATHS: ReadonlySet<string> = new Set([
  '/_matrix/federation/v1/version',
  '/_matrix/federation/v1/openid/userinfo',
  // Identity servers call it, and they do not sign requests (third-party invites).
  '/_matrix/federation/v1/3pid/onbind',
]);

const FEDERATION_PREFIX = '/_matrix/federation/';

/**
 * Installs the check for every /_matrix/federation/ route registered after it; call it before any route.
 * `deps` null: no federation, every authenticated federation request is refused.
 */
export function installFederationAuth(app: FastifyInstance, deps: FederationAuthDeps | null): void {
  app.decorateRequest('federationOrigin', '');
  app.addHook('preValidation', async (request) => {
    const url = request.routeOptions.url;
    if (url === undefined || !url.startsWith(FEDERATION_PREFIX) || UNAUTHENTICATED_FEDERATION_PATHS.has(url)) return;
    // The 405 answers for known paths asked with another method need no signature.
    if ((request.routeOptions.config as { methodFallback?: boolean } | undefined)?.methodFallback) return;
    if (deps === null) throw new MatrixError('M_UNAUTHORIZED', 'This server does not take part in federation');
    request.federationOrigin = await authenticateFederationRequest(request, deps);
  });
}

/** Checks the request's X-Matrix signature; returns the origin, or throws 401 M_UNAUTHORIZED saying why. */
export async function authenticateFederationRequest(request: FastifyRequest, deps: FederationAuthDeps): Promise<string> {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header === '') {
    throw new MatrixError('M_UNAUTHORIZED', 'Federation requests must carry an X-Matrix Authorization header');
  }
  let auth;
  try {
    auth = parseXMatrix(header);
  } catch (err) {
    // A header that cannot be read is a bad request (400, as Synapse answers); one that reads but does not
    // check out is unauthorised (401).
    if (err instanceof XMatrixParseError) throw new MatrixError('M_UNAUTHORIZED', `Malformed X-Matrix Authorization header: ${err.message}`, { status: 400 });
    throw err;
  }
  if (!isServerName(auth.origin)) throw new MatrixError('M_UNAUTHORIZED', 'The X-Matrix origin is not a valid server name', { status: 400 });
  if (auth.destination !== undefined && auth.destination !== deps.serverName) {
    throw new MatrixError('M_UNAUTHORIZED', `This request is addressed to another server, not ${deps.serverName}`);
  }
  const key = await deps.keys.keyValidAt(auth.origin, auth.key, deps.clock.now(), { currentOnly: true });
  if (key === undefined) {
    throw new MatrixError('M_UNAUTHORIZED', `Could not get a current key ${auth.key} of ${auth.origin} to check the request's signature`);
  }
  const signed = {
    method: request.method,
    uri: request.raw.url ?? request.url,
    origin: auth.origin,
    // Servers that omit the header's destination still signed with it, as it has always been in the JSON.
    destination: deps.serverName,
    ...(request.body === undefined ? {} : { content: request.body }),
  };
  if (!verifyRequestSignature(signed, auth.key, auth.sig, key.key)) {
    throw new MatrixError('M_UNAUTHORIZED', `The request's signature does not verify with ${auth.origin}'s key ${auth.key}`);
  }
  return auth.origin;
}

export type FederationHandler<E extends Endpoint> = (
  input: HandlerInput<E> & { readonly origin: string },
) => Promise<ResponseOf<E>> | ResponseOf<E>;

/**
 * Registers an authenticated federation endpoint (its contract's auth is 'federation' and its path under
 * /_matrix/federation/): the handler runs only for a correctly signed request, and gets its `origin`.
 */
export function federationRoute<E extends Endpoint & { readonly auth: 'federation' }>(
  app: FastifyInstance,
  endpoint: E,
  handler: FederationHandler<E>,
): void {
  for (const path of [endpoint.path, ...(endpoint.aliases ?? [])]) {
    if (!path.startsWith(FEDERATION_PREFIX) || UNAUTHENTICATED_FEDERATION_PATHS.has(path)) {
      throw new Error(`${endpoint.name}: ${path} is not a path the X-Matrix check covers`);
    }
  }
  route(app, endpoint, (input) => handler({ ...input, origin: input.request.federationOrigin }));
}
