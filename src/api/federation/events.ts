import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../platform/clock.js';
import {
  backfillRoom,
  getFederationEvent,
  getFederationEventAuth,
  getFederationEventByTimestamp,
  getFederationRoomState,
  getFederationRoomStateIds,
  getMissingPreviousEvents,
} from '../../protocol/endpoints/federation-events.js';
import type { FederationReads } from '../../rooms/index.js';
import { federationRoute } from './auth.js';

export interface FederationEventRoutesDeps {
  readonly reads: FederationReads;
  /** This server's name and clock: a transaction names its origin and when it was made. */
  readonly serverName: string;
  readonly clock: Clock;
}

/** The room reads other servers make: events, state at an event, auth chains, backfill, missing events. */
export function federationEventRoutes(deps: FederationEventRoutesDeps) {
  const { reads } = deps;
  const transaction = (pdus: Array<Record<string, unknown>>) => ({ origin: deps.serverName, origin_server_ts: deps.clock.now(), pdus });
  return async (app: FastifyInstance): Promise<void> => {
    federationRoute(app, getFederationEvent, async ({ origin, params }) => transaction([await reads.event(origin, params.eventId)]));

    federationRoute(app, getFederationRoomState, async ({ origin, params, query }) => {
      const { pdus, authChain } = await reads.state(origin, params.roomId, query.event_id);
      return { pdus, auth_chain: authChain };
    });

    federationRoute(app, getFederationRoomStateIds, async ({ origin, params, query }) => {
      const { pduIds, authChainIds } = await reads.stateIds(origin, params.roomId, query.event_id);
      return { pdu_ids: pduIds, auth_chain_ids: authChainIds };
    });

    federationRoute(app, getFederationEventAuth, async ({ origin, params }) => ({
      auth_chain: await reads.eventAuth(origin, params.roomId, params.eventId),
    }));

    federationRoute(app, backfillRoom, async ({ origin, params, query }) =>
      transaction(await reads.backfill(origin, params.roomId, query.v, query.limit)));

    federationRoute(app, getMissingPreviousEvents, async ({ origin, params, body }) => ({
      events: await reads.missingEvents(origin, params.roomId, {
        earliestEvents: body.earliest_events,
        latestEvents: body.latest_events,
        limit: body.limit,
        minDepth: body.min_depth,
      }),
    }));

    federationRoute(app, getFederationEventByTimestamp, ({ origin, params, query }) =>
      reads.timestampToEvent(origin, params.roomId, query.ts, query.dir));
  };
}
