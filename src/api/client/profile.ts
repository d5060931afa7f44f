import type { FastifyInstance } from 'fastify';
import { deleteProfileField, getProfileField, getUserProfile, setProfileField } from '../../protocol/endpoints/profile.js';
import type { ProfileService } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Profiles: read anyone's, set your own (the service copies it into your rooms). */
export function profileRoutes(profiles: ProfileService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getUserProfile, ({ params }) => profiles.profile(params.userId));

    route(app, getProfileField, ({ params }) => profiles.profileField(params.userId, params.keyName));

    route(app, setProfileField, async ({ params, body, requester }) => {
      await profiles.setProfileField(requester, params.userId, params.keyName, body);
      return {};
    });

    route(app, deleteProfileField, async ({ params, requester }) => {
      await profiles.deleteProfileField(requester, params.userId, params.keyName);
      return {};
    });
  };
}
