import type { FastifyInstance } from 'fastify';
import { getRegistrationNonce, registerWithSharedSecret } from '../../protocol/endpoints/synapse-admin.js';
import type { ServerName } from '../../protocol/index.js';
import type { SharedSecretRegistration } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** Synapse's shared-secret registration, for register_new_matrix_user and friends. */
export function sharedSecretRegisterRoutes(registration: SharedSecretRegistration, serverName: ServerName) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getRegistrationNonce, async () => ({ nonce: await registration.nonce() }));

    route(app, registerWithSharedSecret, async ({ body }) => {
      const session = await registration.register({
        nonce: body.nonce,
        username: body.username,
        password: body.password,
        admin: body.admin ?? false,
        userType: body.user_type ?? null,
        displayName: body.displayname,
        mac: body.mac,
      });
      return {
        user_id: session.userId,
        access_token: session.accessToken,
        device_id: session.deviceId,
        home_server: serverName,
      };
    });
  };
}
