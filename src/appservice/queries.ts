/**
 * What Hearth asks application services (application service API, "Querying" and "Pinging"): whether a
 * user or room alias in their namespaces exists (the service creates it before answering 200, so the
 * caller then finds it), and the ping a service asks for to check that Hearth can reach it.
 */
import { MatrixError } from '../protocol/index.js';
import type { Logger } from '../platform/logger.js';
import { HttpClientError } from '../platform/http-client.js';
import type { AppServiceClient } from './client.js';
import type { AppService, AppServices } from './registration.js';

export interface AppServiceQueriesDeps {
  readonly services: AppServices;
  readonly client: AppServiceClient;
  readonly clock: { now(): number };
  readonly log: Logger;
}

/** A query blocks the request that needed it (a join, an invite): a service that hangs fails it, not the server. */
const QUERY_TIMEOUT_MS = 15_000;
const PING_TIMEOUT_MS = 15_000;

export type AppServiceQueries = ReturnType<typeof createAppServiceQueries>;

export function createAppServiceQueries(deps: AppServiceQueriesDeps) {
  const { services, client } = deps;
  const log = deps.log.child({ component: 'appservice-queries' });

  /** Asks each service in turn until one answers 200; a service that fails is logged and skipped. */
  async function ask(candidates: readonly AppService[], path: string, what: string): Promise<boolean> {
    for (const service of candidates) {
      try {
        const response = await client.request(service, { method: 'GET', path, timeoutMs: QUERY_TIMEOUT_MS });
        if (response.status >= 200 && response.status < 300) return true;
        if (response.status !== 404) log.info({ appservice: service.id, status: response.status, what }, 'application service query failed');
      } catch (err) {
        log.warn({ err, appservice: service.id, what }, 'application service could not be queried');
      }
    }
    return false;
  }

  return {
    /** GET /users/{userId} of the services whose namespaces cover this (unregistered) local user. */
    async userExists(userId: string): Promise<boolean> {
      const candidates = services.interestedInUser(userId).filter((service) => service.sender !== userId);
      return candidates.length > 0 && ask(candidates, `/users/${encodeURIComponent(userId)}`, 'user');
    },

    /** GET /rooms/{roomAlias} of the services whose namespaces cover this unknown local alias. */
    async aliasExists(alias: string): Promise<boolean> {
      const candidates = services.interestedInAlias(alias);
      return candidates.length > 0 && ask(candidates, `/rooms/${encodeURIComponent(alias)}`, 'alias');
    },

    /**
     * POST /_matrix/client/v1/appservice/{appserviceId}/ping: Hearth pings the service (POST /ping) and
     * answers how long it took, or why it failed, in the spec's errcodes.
     */
    async ping(callerServiceId: string, appserviceId: string, transactionId: string | undefined): Promise<{ duration_ms: number }> {
      const service = services.byId(appserviceId);
      if (service === undefined || service.id !== callerServiceId) {
        throw new MatrixError('M_FORBIDDEN', `The as_token used is not the one of application service ${appserviceId}`);
      }
      if (service.url === null) throw new MatrixError('M_URL_NOT_SET', `Application service ${service.id} has no url in its registration`);
      const started = deps.clock.now();
      let response;
      try {
        response = await client.request(service, {
          method: 'POST',
          path: '/ping',
          legacyPath: null,
          body: transactionId === undefined ? {} : { transaction_id: transactionId },
          timeoutMs: PING_TIMEOUT_MS,
        });
      } catch (err) {
        if (err instanceof HttpClientError && err.kind === 'timeout') {
          throw new MatrixError('M_CONNECTION_TIMEOUT', `Application service ${service.id} did not answer within ${PING_TIMEOUT_MS / 1000} s`);
        }
        throw new MatrixError('M_CONNECTION_FAILED', `Could not reach application service ${service.id}: ${(err as Error).message}`);
      }
      if (response.status < 200 || response.status >= 300) {
        throw new MatrixError('M_BAD_STATUS', `Application service ${service.id} answered the ping with HTTP ${response.status}`, {
          extra: { status: response.status, body: response.text().slice(0, 4096) },
        });
      }
      return { duration_ms: Math.max(0, deps.clock.now() - started) };
    },
  };
}
