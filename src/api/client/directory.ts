import type { FastifyInstance } from 'fastify';
import {
  deleteAppserviceRoomDirectoryEntry,
  deleteRoomAlias,
  getLocalAliases,
  getPublicRooms,
  getRoomIdByAlias,
  getRoomVisibilityOnDirectory,
  queryPublicRooms,
  setRoomAlias,
  setRoomVisibilityOnDirectory,
  updateAppserviceRoomDirectoryVisibility,
} from '../../protocol/endpoints/directory.js';
import type { AliasService, RoomDirectory } from '../../rooms/index.js';
import { route } from '../plumbing/route.js';

/** Room aliases and the published room directory. */
export function directoryRoutes(aliases: AliasService, directory: RoomDirectory) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, setRoomAlias, async ({ requester, params, body }) => {
      await aliases.create(requester, params.roomAlias, body.room_id);
      return {};
    });
    route(app, getRoomIdByAlias, async ({ params }) => {
      const { roomId, servers } = await aliases.resolve(params.roomAlias);
      return { room_id: roomId, servers };
    });
    route(app, deleteRoomAlias, async ({ requester, params }) => {
      await aliases.delete(requester, params.roomAlias);
      return {};
    });
    route(app, getLocalAliases, async ({ requester, params }) => ({
      aliases: await aliases.roomAliases(requester, params.roomId),
    }));

    route(app, getRoomVisibilityOnDirectory, async ({ params }) => ({
      visibility: await directory.visibility(params.roomId),
    }));
    route(app, setRoomVisibilityOnDirectory, async ({ requester, params, body }) => {
      await directory.setVisibility(requester, params.roomId, body.visibility ?? 'public');
      return {};
    });
    route(app, getPublicRooms, ({ query }) => directory.publicRooms(query));
    route(app, queryPublicRooms, ({ query, body }) =>
      directory.publicRooms({
        server: query.server,
        limit: body.limit,
        since: body.since ?? undefined,
        searchTerm: body.filter?.generic_search_term,
        roomTypes: body.filter?.room_types,
        includeAllNetworks: body.include_all_networks,
        thirdPartyInstanceId: body.third_party_instance_id,
      }));
  };
}

/**
 * Application services' own room directories, one per network they bridge; mounted only when the server
 * has application services (the routes need as_tokens).
 */
export function appServiceDirectoryRoutes(directory: RoomDirectory) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, updateAppserviceRoomDirectoryVisibility, async ({ requester, params, body }) => {
      await directory.setNetworkVisibility(requester.appservice.id, params.networkId, params.roomId, body.visibility);
      return {};
    });
    route(app, deleteAppserviceRoomDirectoryEntry, async ({ requester, params }) => {
      await directory.setNetworkVisibility(requester.appservice.id, params.networkId, params.roomId, 'private');
      return {};
    });
  };
}
