import type { FastifyInstance } from 'fastify';
import {
  getFederationPublicRooms,
  queryFederationPublicRooms,
  queryProfile,
  queryRoomDirectory,
} from '../../protocol/endpoints/federation-query.js';
import type { FederationReads, RoomDirectory } from '../../rooms/index.js';
import type { FederationProfiles } from '../../users/index.js';
import { federationRoute } from './auth.js';

export interface FederationQueryRoutesDeps {
  readonly reads: Pick<FederationReads, 'resolveAlias'>;
  readonly profiles: FederationProfiles;
  readonly directory: Pick<RoomDirectory, 'publicRooms'>;
}

/** Queries other servers make: this server's aliases, its users' profiles, its published room directory. */
export function federationQueryRoutes(deps: FederationQueryRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    federationRoute(app, queryRoomDirectory, async ({ query }) => {
      const { roomId, servers } = await deps.reads.resolveAlias(query.room_alias);
      return { room_id: roomId, servers };
    });

    federationRoute(app, queryProfile, ({ query }) => deps.profiles.query(query.user_id, query.field));

    federationRoute(app, getFederationPublicRooms, ({ query }) =>
      deps.directory.publicRooms({
        limit: query.limit,
        since: query.since,
        includeAllNetworks: query.include_all_networks,
        thirdPartyInstanceId: query.third_party_instance_id,
      }));

    federationRoute(app, queryFederationPublicRooms, ({ body }) =>
      deps.directory.publicRooms({
        limit: body.limit,
        since: body.since ?? undefined,
        searchTerm: body.filter?.generic_search_term,
        roomTypes: body.filter?.room_types,
        includeAllNetworks: body.include_all_networks,
        thirdPartyInstanceId: body.third_party_instance_id,
      }));
  };
}
