import type { FastifyInstance } from 'fastify';
import { MatrixError } from '../protocol/index.js';
import { getWellKnownClient, getWellKnownServer, getWellKnownSupport } from '../protocol/endpoints/discovery.js';
import { route } from './plumbing/route.js';

export interface WellKnownOptions {
  /** m.homeserver.base_url. */
  readonly clientBaseUrl: string;
  /** Extra namespaced keys for the client file (m.identity_server, org.matrix.msc4143.rtc_foci ...). */
  readonly clientExtra: Readonly<Record<string, unknown>>;
  /** The m.server delegation; null answers 404, as the spec expects when there is none. */
  readonly server: string | null;
  /** /.well-known/matrix/support; with no contacts and no page it answers 404. */
  readonly support?: {
    readonly contacts: ReadonlyArray<{ readonly matrix_id?: string; readonly email_address?: string; readonly role: string }>;
    readonly supportPage: string | null;
  };
}

export function wellKnownRoutes(options: WellKnownOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getWellKnownClient, () => ({
      ...options.clientExtra,
      'm.homeserver': { base_url: options.clientBaseUrl },
    }));
    route(app, getWellKnownServer, () => {
      if (options.server === null) {
        throw new MatrixError('M_NOT_FOUND', 'This server does not delegate federation; connect to its server name directly');
      }
      return { 'm.server': options.server };
    });
    route(app, getWellKnownSupport, () => {
      const support = options.support;
      if (support === undefined || (support.contacts.length === 0 && support.supportPage === null)) {
        throw new MatrixError('M_NOT_FOUND', 'This server publishes no support contacts');
      }
      return {
        ...(support.contacts.length === 0 ? {} : { contacts: support.contacts.map((contact) => ({ ...contact })) }),
        ...(support.supportPage === null ? {} : { support_page: support.supportPage }),
      };
    });
  };
}
