import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/**
 * Synapse's admin API endpoints that Hearth answers the same way, so the tools written for them
 * (register_new_matrix_user, synadm, deployment scripts) work unchanged.
 */

/** GET /_synapse/admin/v1/register: a single-use nonce for shared-secret registration. */
export const getRegistrationNonce = defineEndpoint({
  name: 'getRegistrationNonce',
  method: 'GET',
  path: '/_synapse/admin/v1/register',
  auth: 'none',
  response: Type.Object({ nonce: Type.String() }),
});

/** POST /_synapse/admin/v1/register: create an account, proving knowledge of the shared secret by an HMAC. */
export const registerWithSharedSecret = defineEndpoint({
  name: 'registerWithSharedSecret',
  method: 'POST',
  path: '/_synapse/admin/v1/register',
  auth: 'none',
  body: Type.Object({
    nonce: Type.String(),
    username: Type.String({ maxLength: 512 }),
    password: Type.String({ maxLength: 512 }),
    admin: Type.Optional(Type.Boolean()),
    user_type: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    displayname: Type.Optional(Type.String()),
    mac: Type.String(),
  }),
  response: Type.Object({
    user_id: Type.String(),
    access_token: Type.String(),
    device_id: Type.String(),
    home_server: Type.String(),
  }),
});

/** POST /_synapse/admin/v1/deactivate/{userId}: a server admin deactivates a local account, erasing it when asked. */
export const adminDeactivateUser = defineEndpoint({
  name: 'adminDeactivateUser',
  method: 'POST',
  path: '/_synapse/admin/v1/deactivate/{userId}',
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  body: Type.Object({ erase: Type.Optional(Type.Boolean()) }),
  // Synapse's answer: no identity server is bound, so there was nothing to unbind.
  response: Type.Object({ id_server_unbind_result: Type.Union([Type.Literal('success'), Type.Literal('no-support')]) }),
});

/** POST /_synapse/admin/v1/reset_password/{userId}: a server admin sets a local user's password. */
export const adminResetPassword = defineEndpoint({
  name: 'adminResetPassword',
  method: 'POST',
  path: '/_synapse/admin/v1/reset_password/{userId}',
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  body: Type.Object({ new_password: Type.String({ maxLength: 512 }), logout_devices: Type.Optional(Type.Boolean()) }),
  response: Type.Object({}),
});

/** What the admin API says of every account, in its list and alone (src/users/admin-users.ts). */
const AdminAccountFields = {
  name: Type.String(),
  displayname: Type.Union([Type.String(), Type.Null()]),
  avatar_url: Type.Union([Type.String(), Type.Null()]),
  admin: Type.Boolean(),
  deactivated: Type.Boolean(),
  erased: Type.Boolean(),
  is_guest: Type.Boolean(),
  creation_ts: Type.Integer(),
  shadow_banned: Type.Boolean(),
  locked: Type.Boolean(),
  user_type: Type.Null(),
};

const AdminUserJson = Type.Object({
  ...AdminAccountFields,
  last_seen_ts: Type.Union([Type.Integer(), Type.Null()]),
  suspended: Type.Boolean(),
  appservice_id: Type.Null(),
  threepids: Type.Array(Type.Object({ medium: Type.String(), address: Type.String(), added_at: Type.Integer(), validated_at: Type.Integer() })),
  external_ids: Type.Array(Type.Object({ auth_provider: Type.String(), external_id: Type.String() })),
});

/** GET /_synapse/admin/v2/users/{userId}: one account as Synapse's admin API shows it. */
export const adminGetUser = defineEndpoint({
  name: 'adminGetUser',
  method: 'GET',
  path: '/_synapse/admin/v2/users/{userId}',
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  response: AdminUserJson,
});

const NullableString = Type.Union([Type.String(), Type.Null()]);

/**
 * PUT /_synapse/admin/v2/users/{userId}: creates the account (201) or changes it (200), answering it as
 * GET does. Fields Hearth does not take (threepids, external_ids, a user_type) are refused by name.
 */
export const adminPutUser = defineEndpoint({
  name: 'adminPutUser',
  method: 'PUT',
  path: '/_synapse/admin/v2/users/{userId}',
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  body: Type.Object({
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    logout_devices: Type.Optional(Type.Boolean()),
    displayname: Type.Optional(NullableString),
    avatar_url: Type.Optional(NullableString),
    admin: Type.Optional(Type.Boolean()),
    deactivated: Type.Optional(Type.Boolean()),
    locked: Type.Optional(Type.Boolean()),
    approved: Type.Optional(Type.Boolean()),
    user_type: Type.Optional(NullableString),
    threepids: Type.Optional(Type.Array(Type.Unknown())),
    external_ids: Type.Optional(Type.Array(Type.Unknown())),
  }),
  response: AdminUserJson,
});

/** POST /_synapse/admin/v1/media/{quarantine|unquarantine}/{serverName}/{mediaId}: one piece of content. */
function mediaQuarantineEndpoint<N extends string>(name: N, action: 'quarantine' | 'unquarantine') {
  return defineEndpoint({
    name,
    method: 'POST',
    path: `/_synapse/admin/v1/media/${action}/{serverName}/{mediaId}`,
    auth: 'user',
    params: Type.Object({ serverName: Type.String(), mediaId: Type.String() }),
    response: Type.Object({}),
  });
}

/** Serve the content to no one. */
export const adminQuarantineMedia = mediaQuarantineEndpoint('adminQuarantineMedia', 'quarantine');
/** Serve it again. */
export const adminUnquarantineMedia = mediaQuarantineEndpoint('adminUnquarantineMedia', 'unquarantine');

/** POST /_synapse/admin/v1/room/{roomId}/media/quarantine (and Synapse's older quarantine_media path): all the room's media. */
export const adminQuarantineRoomMedia = defineEndpoint({
  name: 'adminQuarantineRoomMedia',
  method: 'POST',
  path: '/_synapse/admin/v1/room/{roomId}/media/quarantine',
  aliases: ['/_synapse/admin/v1/quarantine_media/{roomId}'],
  auth: 'user',
  params: Type.Object({ roomId: Type.String() }),
  response: Type.Object({ num_quarantined: Type.Integer() }),
});

/** POST /_synapse/admin/v1/user/{userId}/media/quarantine: everything the user uploaded. */
export const adminQuarantineUserMedia = defineEndpoint({
  name: 'adminQuarantineUserMedia',
  method: 'POST',
  path: '/_synapse/admin/v1/user/{userId}/media/quarantine',
  auth: 'user',
  params: Type.Object({ userId: Type.String() }),
  response: Type.Object({ num_quarantined: Type.Integer() }),
});

/** GET /_synapse/admin/v2/users: the accounts, a page at a time, filtered as Synapse filters them. */
export const adminListUsers = defineEndpoint({
  name: 'adminListUsers',
  method: 'GET',
  path: '/_synapse/admin/v2/users',
  auth: 'user',
  query: Type.Object({
    from: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    guests: Type.Optional(Type.Boolean()),
    deactivated: Type.Optional(Type.Boolean()),
    name: Type.Optional(Type.String({ minLength: 1 })),
    user_id: Type.Optional(Type.String({ minLength: 1 })),
  }),
  response: Type.Object({
    users: Type.Array(Type.Object({ ...AdminAccountFields, approved: Type.Boolean() })),
    total: Type.Integer(),
    next_token: Type.Optional(Type.String()),
  }),
});

/** The fields of a room in Synapse's admin API. */
const AdminRoomFields = {
  room_id: Type.String(),
  name: NullableString,
  canonical_alias: NullableString,
  joined_members: Type.Integer(),
  joined_local_members: Type.Integer(),
  version: Type.String(),
  creator: Type.String(),
  encryption: NullableString,
  federatable: Type.Boolean(),
  public: Type.Boolean(),
  join_rules: NullableString,
  guest_access: NullableString,
  history_visibility: NullableString,
  state_events: Type.Integer(),
  room_type: NullableString,
};

const AdminRoomParams = Type.Object({ roomId: Type.String() });

/** GET /_synapse/admin/v1/rooms: every room this server holds, a page at a time, searched and sorted. */
export const adminListRooms = defineEndpoint({
  name: 'adminListRooms',
  method: 'GET',
  path: '/_synapse/admin/v1/rooms',
  auth: 'user',
  query: Type.Object({
    from: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    order_by: Type.Optional(Type.String()),
    dir: Type.Optional(Type.String()),
    search_term: Type.Optional(Type.String({ minLength: 1 })),
  }),
  response: Type.Object({
    rooms: Type.Array(Type.Object(AdminRoomFields)),
    offset: Type.Integer(),
    total_rooms: Type.Integer(),
    next_batch: Type.Optional(Type.Integer()),
    prev_batch: Type.Optional(Type.Integer()),
  }),
});

/** GET /_synapse/admin/v1/rooms/{roomId}: one room, with its avatar and topic. */
export const adminGetRoom = defineEndpoint({
  name: 'adminGetRoom',
  method: 'GET',
  path: '/_synapse/admin/v1/rooms/{roomId}',
  auth: 'user',
  params: AdminRoomParams,
  response: Type.Object({ ...AdminRoomFields, avatar: NullableString, topic: NullableString }),
});

/** GET /_synapse/admin/v1/rooms/{roomId}/members: its joined members. */
export const adminGetRoomMembers = defineEndpoint({
  name: 'adminGetRoomMembers',
  method: 'GET',
  path: '/_synapse/admin/v1/rooms/{roomId}/members',
  auth: 'user',
  params: AdminRoomParams,
  response: Type.Object({ members: Type.Array(Type.String()), total: Type.Integer() }),
});

/** GET and PUT /_synapse/admin/v1/rooms/{roomId}/block: whether this server's users may join it. */
export const adminGetRoomBlock = defineEndpoint({
  name: 'adminGetRoomBlock',
  method: 'GET',
  path: '/_synapse/admin/v1/rooms/{roomId}/block',
  auth: 'user',
  params: AdminRoomParams,
  response: Type.Object({ block: Type.Boolean(), user_id: Type.Optional(Type.String()) }),
});

export const adminSetRoomBlock = defineEndpoint({
  name: 'adminSetRoomBlock',
  method: 'PUT',
  path: '/_synapse/admin/v1/rooms/{roomId}/block',
  auth: 'user',
  params: AdminRoomParams,
  body: Type.Object({ block: Type.Boolean() }),
  response: Type.Object({ block: Type.Boolean() }),
});

/**
 * DELETE /_synapse/admin/v1/rooms/{roomId}: shuts the room down (its local members leave, its aliases go,
 * optionally blocked, optionally a notice room). The body is optional; AdminShutdownBody checks it.
 */
export const adminDeleteRoom = defineEndpoint({
  name: 'adminDeleteRoom',
  method: 'DELETE',
  path: '/_synapse/admin/v1/rooms/{roomId}',
  auth: 'user',
  params: AdminRoomParams,
  response: Type.Object({
    kicked_users: Type.Array(Type.String()),
    failed_to_kick_users: Type.Array(Type.String()),
    local_aliases: Type.Array(Type.String()),
    new_room_id: NullableString,
  }),
});

export const AdminShutdownBody = Type.Object({
  new_room_user_id: Type.Optional(Type.String()),
  room_name: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  block: Type.Optional(Type.Boolean()),
  purge: Type.Optional(Type.Boolean()),
  force_purge: Type.Optional(Type.Boolean()),
});
