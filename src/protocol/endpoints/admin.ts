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
