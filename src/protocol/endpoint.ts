import type { Static, TSchema } from '@sinclair/typebox';

/**
 * An endpoint is data: method, path, who may call it and the shapes of what goes in and out. The route,
 * the handler's types and (later) the outbound federation client and the docs all come from it.
 */

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/**
 * none: anyone. user: an access token is required. optional-user: a token is read when given.
 * federation: an X-Matrix signed request. admin: a server admin's token. appservice: an application
 * service's as_token is required. optional-appservice: anyone, and an as_token is read when given (other
 * tokens are ignored: /register and /login, which clients may call with a stale token).
 */
export type AuthKind = 'none' | 'user' | 'optional-user' | 'federation' | 'admin' | 'appservice' | 'optional-appservice';

export interface Endpoint<
  Params extends TSchema | undefined = TSchema | undefined,
  Query extends TSchema | undefined = TSchema | undefined,
  Body extends TSchema | undefined = TSchema | undefined,
  Response extends TSchema = TSchema,
  Auth extends AuthKind = AuthKind,
> {
  /** The spec's operationId, used in logs and metrics. */
  readonly name: string;
  readonly method: HttpMethod;
  /** The current path in the spec's notation: /_matrix/client/v3/rooms/{roomId}/join. */
  readonly path: string;
  /** Older paths that still answer the same way (r0, unstable prefixes). */
  readonly aliases?: readonly string[];
  readonly auth: Auth;
  /** The rate-limit class the request counts against; none when absent. */
  readonly rateLimit?: string;
  readonly params?: Params;
  readonly query?: Query;
  readonly body?: Body;
  readonly response: Response;
}

type Maybe = TSchema | undefined;
type StaticOr<T, Fallback> = [T] extends [TSchema] ? Static<T> : Fallback;

export type ParamsOf<E> = E extends Endpoint<infer P, Maybe, Maybe> ? StaticOr<P, Record<string, never>> : never;
export type QueryOf<E> = E extends Endpoint<Maybe, infer Q, Maybe> ? StaticOr<Q, Record<string, never>> : never;
export type BodyOf<E> = E extends Endpoint<Maybe, Maybe, infer B> ? StaticOr<B, undefined> : never;
export type ResponseOf<E> = E extends Endpoint<Maybe, Maybe, Maybe, infer R> ? Static<R> : never;
export type AuthOf<E> = E extends Endpoint<Maybe, Maybe, Maybe, TSchema, infer A> ? A : never;

/** Declares an endpoint, keeping its literal types for the route and the handler. */
export function defineEndpoint<
  Params extends TSchema | undefined = undefined,
  Query extends TSchema | undefined = undefined,
  Body extends TSchema | undefined = undefined,
  Response extends TSchema = TSchema,
  Auth extends AuthKind = AuthKind,
>(endpoint: Endpoint<Params, Query, Body, Response, Auth>): Endpoint<Params, Query, Body, Response, Auth> {
  return Object.freeze(endpoint);
}

/**
 * A Client-Server path under /_matrix/client/v3, with the r0 path older clients still call as its alias:
 * spread it into a contract (`...clientV3('/rooms/{roomId}/join')`).
 */
export function clientV3(path: string): { readonly path: string; readonly aliases: readonly string[] } {
  return { path: `/_matrix/client/v3${path}`, aliases: [`/_matrix/client/r0${path}`] };
}
