/**
 * Requests made with an application service's as_token (application service API, "Identity assertion"):
 * the service acts for its own user, or for the user named by the `user_id` query parameter when that
 * user is in its namespace and registered, with the device named by `device_id` (Matrix 1.17) or none.
 */
import { isUserId, MatrixError, parseDeviceId, type DeviceId, type UserId } from '../protocol/index.js';
import type { Requester } from '../users/index.js';
import type { AppServices } from './registration.js';

export interface AppServiceAuthDeps {
  readonly services: AppServices;
  /**
   * Whether the user is registered here and not deactivated (false), or true; or, as an object, the
   * account moderation it is under (a locked or suspended user is refused as when acting alone).
   */
  readonly activeUser: (userId: UserId) => Promise<boolean | { readonly locked?: boolean; readonly suspended?: boolean }>;
  readonly deviceExists: (userId: UserId, deviceId: DeviceId) => Promise<boolean>;
}

export type AppServiceAuth = ReturnType<typeof createAppServiceAuth>;

function queryText(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new MatrixError('M_INVALID_PARAM', `The ${name} query parameter must be given once, not empty`);
  return value;
}

export function createAppServiceAuth(deps: AppServiceAuthDeps) {
  const { services } = deps;
  return {
    /**
     * The requester an as_token stands for; undefined when the token is no application service's (it
     * may be a user's). The service's own user exists from the start (server.ts creates it).
     */
    async authenticate(token: string, actAs: { readonly userId?: unknown; readonly deviceId?: unknown } = {}): Promise<Requester | undefined> {
      const service = services.byToken(token);
      if (service === undefined) return undefined;
      const named = queryText(actAs.userId, 'user_id');
      if (named !== undefined && !isUserId(named)) throw new MatrixError('M_INVALID_PARAM', `user_id ${JSON.stringify(named)} is not a user id`);
      const userId = (named ?? service.sender) as UserId;
      if (!services.ownsUser(service, userId)) {
        throw new MatrixError('M_FORBIDDEN', `The application service ${service.id} cannot act for ${userId}: it is outside its user namespaces`);
      }
      const active = await deps.activeUser(userId);
      if (userId !== service.sender && active === false) {
        throw new MatrixError('M_FORBIDDEN', `The application service ${service.id} has not registered ${userId} (or it was deactivated); register it first`);
      }
      const moderation = typeof active === 'object' ? { ...(active.locked ? { locked: true } : {}), ...(active.suspended ? { suspended: true } : {}) } : {};
      const deviceText = queryText(actAs.deviceId, 'device_id');
      let deviceId: DeviceId | null = null;
      if (deviceText !== undefined) {
        deviceId = parseDeviceId(deviceText);
        if (!(await deps.deviceExists(userId, deviceId))) {
          throw new MatrixError('M_UNKNOWN_DEVICE', `${userId} has no device ${deviceText}; create it first (PUT /devices/{deviceId})`);
        }
      }
      return { userId, deviceId, isGuest: false, ...moderation, appservice: { id: service.id, rateLimited: service.rateLimited && userId !== service.sender } };
    },
  };
}
