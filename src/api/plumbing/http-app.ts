import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../platform/logger.js';
import type { RateLimiter } from '../../platform/rate-limit.js';
import { installErrorHandling, pathOf } from './errors.js';
import { installJsonBodies, installJsonReplyType } from './body.js';
import { installCors } from './cors.js';
import { answerUnknownMethods } from './route.js';
import { installAuthenticator, type AppServiceAuthenticator, type Authenticator } from './auth.js';
import { typeboxValidatorCompiler } from './validation.js';

export interface HttpAppOptions {
  readonly log: Logger;
  readonly maxJsonBodyBytes: number;
  readonly trustProxy: boolean;
  /** PEM certificate and key to serve HTTPS directly; absent or null serves plain HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | null;
  /** Checks access tokens for 'user' and 'optional-user' routes; without it only 'none' routes can mount. */
  readonly authenticator?: Authenticator | null;
  /** Reads as_tokens on 'optional-appservice' routes (/register, /login); absent: no application services. */
  readonly appServiceAuthenticator?: AppServiceAuthenticator | null;
  /** Counts requests against their contract's rate-limit class; absent or null: nothing is limited. */
  readonly rateLimiter?: RateLimiter | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What route() asks before a handler whose contract names a rate-limit class; null: no limits. */
    rateLimiter: RateLimiter | null;
  }
}

/**
 * A Fastify app with Hearth's plumbing (errors, JSON bodies, CORS, validation, request logs) and the
 * given routes mounted, ready to listen. Every API goes through this, and so do the plumbing's tests.
 */
export async function createHttpApp(
  options: HttpAppOptions,
  mount: (app: FastifyInstance) => Promise<void>,
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    // pino's Logger is a FastifyBaseLogger; widening it keeps the app's type the default one plugins expect.
    loggerInstance: options.log as FastifyBaseLogger,
    // Fastify's own request lines print the URL, which may carry an access token; ours print the route.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify gives each request a child logger carrying its reqId; pino runs its redaction over a child's
    // bindings, about 5 KB of garbage a request, paid even when nothing is logged. The request lines are
    // info: below that level a request's warnings go out without its reqId instead.
    childLoggerFactory: (logger, bindings, childOptions) => (options.log.isLevelEnabled('info') ? logger.child(bindings, childOptions) : logger),
    bodyLimit: options.maxJsonBodyBytes,
    trustProxy: options.trustProxy,
    // Room and event ids, URL-encoded, run well past Fastify's default of 100 characters.
    routerOptions: { maxParamLength: 2048 },
    return503OnClosing: true,
  });
  app.setValidatorCompiler(typeboxValidatorCompiler);
  installErrorHandling(app);
  installJsonBodies(app);
  installJsonReplyType(app);
  installCors(app);
  installAuthenticator(app, options.authenticator ?? null, options.appServiceAuthenticator ?? null);
  app.decorate('rateLimiter', options.rateLimiter ?? null);
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the URL: a query string may carry an access token.
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? pathOf(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  const finishRoutes = answerUnknownMethods(app);
  await mount(app);
  finishRoutes();
  await app.ready();
  return app;
}
