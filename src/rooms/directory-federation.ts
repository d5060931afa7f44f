import { MatrixError, isServerName } from '../protocol/index.js';
import type { PublicRoomChunk, PublicRoomsPage, PublicRoomsQuery } from './directory.js';

/**
 * Another server's published room directory (client-server /publicRooms?server=X): the request is passed
 * to X's /_matrix/federation/v1/publicRooms, GET when it is a plain page and POST when it filters (as
 * Synapse does), and X's answer is checked before the client gets it.
 */

/** The signed federation client (src/federation/client.ts), as far as this needs it. */
export interface DirectoryQueries {
  request<T>(
    destination: string,
    method: 'GET' | 'POST',
    path: string,
    options?: {
      readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
      readonly body?: Readonly<Record<string, unknown>>;
      readonly timeoutMs?: number;
    },
  ): Promise<T>;
}

const PATH = '/_matrix/federation/v1/publicRooms';

export function createRemotePublicRooms(deps: { readonly client: DirectoryQueries; readonly timeoutMs?: number }) {
  return async (server: string, query: PublicRoomsQuery): Promise<PublicRoomsPage> => {
    if (!isServerName(server)) throw new MatrixError('M_INVALID_PARAM', 'server must be a server name');
    const filtered = (query.searchTerm !== undefined && query.searchTerm !== '') || query.roomTypes !== undefined;
    const timeoutMs = deps.timeoutMs ?? 30_000;
    const answer = filtered
      ? await deps.client.request<unknown>(server, 'POST', PATH, {
          body: {
            ...(query.limit === undefined ? {} : { limit: query.limit }),
            ...(query.since === undefined ? {} : { since: query.since }),
            filter: {
              ...(query.searchTerm === undefined ? {} : { generic_search_term: query.searchTerm }),
              ...(query.roomTypes === undefined ? {} : { room_types: [...query.roomTypes] }),
            },
            ...(query.includeAllNetworks === undefined ? {} : { include_all_networks: query.includeAllNetworks }),
            ...(query.thirdPartyInstanceId === undefined ? {} : { third_party_instance_id: query.thirdPartyInstanceId }),
          },
          timeoutMs,
        })
      : await deps.client.request<unknown>(server, 'GET', PATH, {
          query: {
            limit: query.limit,
            since: query.since,
            include_all_networks: query.includeAllNetworks,
            third_party_instance_id: query.thirdPartyInstanceId,
          },
          timeoutMs,
        });
    return pageFrom(answer);
  };
}

export type RemotePublicRooms = ReturnType<typeof createRemotePublicRooms>;

/** The remote's page, keeping entries that have what a chunk requires; a malformed answer is an empty page. */
function pageFrom(answer: unknown): PublicRoomsPage {
  const body = typeof answer === 'object' && answer !== null && !Array.isArray(answer) ? (answer as Record<string, unknown>) : {};
  const chunk = Array.isArray(body.chunk) ? body.chunk.filter(isChunk) : [];
  const estimate = body.total_room_count_estimate;
  return {
    chunk,
    ...(typeof body.next_batch === 'string' ? { next_batch: body.next_batch } : {}),
    ...(typeof body.prev_batch === 'string' ? { prev_batch: body.prev_batch } : {}),
    total_room_count_estimate: typeof estimate === 'number' && Number.isSafeInteger(estimate) && estimate >= 0 ? estimate : chunk.length,
  };
}

function isChunk(value: unknown): value is PublicRoomChunk {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.room_id === 'string'
    && typeof entry.num_joined_members === 'number'
    && typeof entry.world_readable === 'boolean'
    && typeof entry.guest_can_join === 'boolean';
}
