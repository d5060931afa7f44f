import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** The client-server API's administration module (admin.yaml). */

const Connection = Type.Object({
  ip: Type.Optional(Type.String()),
  last_seen: Type.Optional(Type.Integer()),
  user_agent: Type.Optional(Type.String()),
});

/** A user's devices, each with its sessions and their connections (ip, last_seen, user_agent). */
export const getWhoIs = defineEndpoint({
  name: 'getWhoIs',
  method: 'GET',
  ...clientV3('/admin/whois/{userId}'),
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  response: Type.Object({
    user_id: Type.String(),
    devices: Type.Record(Type.String(), Type.Object({ sessions: Type.Array(Type.Object({ connections: Type.Array(Connection) })) })),
  }),
});

const UserIdParams = Type.Object({ userId: Type.String() });

/** GET and PUT /_matrix/client/v1/admin/lock/{userId} and /admin/suspend/{userId} (account moderation, 1.18). */
function moderation<N extends string, K extends 'locked' | 'suspended'>(getName: N, setName: string, segment: string, key: K) {
  const path = `/_matrix/client/v1/admin/${segment}/{userId}`;
  const answer = Type.Object({ [key]: Type.Boolean() } as Record<K, ReturnType<typeof Type.Boolean>>);
  return {
    get: defineEndpoint({ name: getName, method: 'GET', path, auth: 'user', params: UserIdParams, response: answer }),
    set: defineEndpoint({ name: setName, method: 'PUT', path, auth: 'user', params: UserIdParams, body: answer, response: answer }),
  };
}

export const { get: getAdminLockUser, set: setAdminLockUser } = moderation('getAdminLockUser', 'setAdminLockUser', 'lock', 'locked');
export const { get: getAdminSuspendUser, set: setAdminSuspendUser } = moderation('getAdminSuspendUser', 'setAdminSuspendUser', 'suspend', 'suspended');
