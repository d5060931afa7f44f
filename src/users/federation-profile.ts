import { isUserId, MatrixError, userIdServer, type UserId } from '../protocol/index.js';
import type { ProfileJson, ProfileService } from './profiles.js';

/**
 * GET /_matrix/federation/v1/query/profile (server-server API, "Querying for information"): a remote
 * server reads a profile of one of this server's users, the whole public profile or one field. A user of
 * another server is the caller's mistake (M_INVALID_PARAM, Synapse's 400); an unknown user, or a field
 * this server does not keep, is M_NOT_FOUND.
 */
export function createFederationProfiles(deps: { readonly profiles: Pick<ProfileService, 'profile' | 'profileField'>; readonly serverName: string }) {
  return {
    async query(userId: string, field: string | undefined): Promise<ProfileJson> {
      if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `user_id '${userId}' is not a user id`);
      if (userIdServer(userId as UserId) !== deps.serverName) {
        throw new MatrixError('M_INVALID_PARAM', `${userId} is not a user of this server (${deps.serverName}); ask their own server`);
      }
      return field === undefined ? deps.profiles.profile(userId) : deps.profiles.profileField(userId, field);
    },
  };
}

export type FederationProfiles = ReturnType<typeof createFederationProfiles>;
