import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Server-side key backups (client-server API, "Server-side key backups", key_backup.yaml). */

/**
 * Algorithm-dependent data (auth_data, session_data): objects in the spec; any JSON value is kept, as
 * Synapse, Dendrite and Conduit keep it (sytest's are strings). Hearth never reads them; the clients that
 * wrote them do.
 */
const Opaque = Type.Unknown();
const AuthData = Opaque;

/** KeyBackupData: one session's key. */
const KeyBackupData = Type.Object({
  first_message_index: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  forwarded_count: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  is_verified: Type.Boolean(),
  session_data: Opaque,
});

/** RoomKeyBackup: a room's keys by session id. */
const RoomKeyBackup = Type.Object({ sessions: Type.Record(Type.String(), KeyBackupData) });

const AllRoomKeys = Type.Object({ rooms: Type.Record(Type.String(), RoomKeyBackup) });

const BackupVersionInfo = Type.Object({
  algorithm: Type.String(),
  auth_data: AuthData,
  count: Type.Integer(),
  etag: Type.String(),
  version: Type.String(),
});

/** RoomKeysUpdateResponse. */
const RoomKeysUpdate = Type.Object({ etag: Type.String(), count: Type.Integer() });

const VersionParams = Type.Object({ version: Type.String() });
const RoomParams = Type.Object({ roomId: Type.String() });
const SessionParams = Type.Object({ roomId: Type.String(), sessionId: Type.String() });
/** The spec requires it; optional here so that its absence is M_MISSING_PARAM from the service. */
const VersionQuery = Type.Object({ version: Type.Optional(Type.String()) });

export const postRoomKeysVersion = defineEndpoint({
  name: 'postRoomKeysVersion',
  method: 'POST',
  ...clientV3('/room_keys/version'),
  auth: 'user',
  body: Type.Object({ algorithm: Type.String(), auth_data: AuthData }),
  response: Type.Object({ version: Type.String() }),
});

export const getRoomKeysVersionCurrent = defineEndpoint({
  name: 'getRoomKeysVersionCurrent',
  method: 'GET',
  ...clientV3('/room_keys/version'),
  auth: 'user',
  response: BackupVersionInfo,
});

export const getRoomKeysVersion = defineEndpoint({
  name: 'getRoomKeysVersion',
  method: 'GET',
  ...clientV3('/room_keys/version/{version}'),
  auth: 'user',
  params: VersionParams,
  response: BackupVersionInfo,
});

export const putRoomKeysVersion = defineEndpoint({
  name: 'putRoomKeysVersion',
  method: 'PUT',
  ...clientV3('/room_keys/version/{version}'),
  auth: 'user',
  params: VersionParams,
  // version: a string in the spec; older clients (and sytest) send the number.
  body: Type.Object({ algorithm: Type.String(), auth_data: AuthData, version: Type.Optional(Type.Union([Type.String(), Type.Integer()])) }),
  response: Type.Object({}),
});

export const deleteRoomKeysVersion = defineEndpoint({
  name: 'deleteRoomKeysVersion',
  method: 'DELETE',
  ...clientV3('/room_keys/version/{version}'),
  auth: 'user',
  params: VersionParams,
  response: Type.Object({}),
});

export const putRoomKeys = defineEndpoint({
  name: 'putRoomKeys',
  method: 'PUT',
  ...clientV3('/room_keys/keys'),
  auth: 'user',
  query: VersionQuery,
  body: AllRoomKeys,
  response: RoomKeysUpdate,
});

export const getRoomKeys = defineEndpoint({
  name: 'getRoomKeys',
  method: 'GET',
  ...clientV3('/room_keys/keys'),
  auth: 'user',
  query: VersionQuery,
  response: AllRoomKeys,
});

export const deleteRoomKeys = defineEndpoint({
  name: 'deleteRoomKeys',
  method: 'DELETE',
  ...clientV3('/room_keys/keys'),
  auth: 'user',
  query: VersionQuery,
  response: RoomKeysUpdate,
});

export const putRoomKeysByRoomId = defineEndpoint({
  name: 'putRoomKeysByRoomId',
  method: 'PUT',
  ...clientV3('/room_keys/keys/{roomId}'),
  auth: 'user',
  params: RoomParams,
  query: VersionQuery,
  body: RoomKeyBackup,
  response: RoomKeysUpdate,
});

export const getRoomKeysByRoomId = defineEndpoint({
  name: 'getRoomKeysByRoomId',
  method: 'GET',
  ...clientV3('/room_keys/keys/{roomId}'),
  auth: 'user',
  params: RoomParams,
  query: VersionQuery,
  response: RoomKeyBackup,
});

export const deleteRoomKeysByRoomId = defineEndpoint({
  name: 'deleteRoomKeysByRoomId',
  method: 'DELETE',
  ...clientV3('/room_keys/keys/{roomId}'),
  auth: 'user',
  params: RoomParams,
  query: VersionQuery,
  response: RoomKeysUpdate,
});

export const putRoomKeyBySessionId = defineEndpoint({
  name: 'putRoomKeyBySessionId',
  method: 'PUT',
  ...clientV3('/room_keys/keys/{roomId}/{sessionId}'),
  auth: 'user',
  params: SessionParams,
  query: VersionQuery,
  body: KeyBackupData,
  response: RoomKeysUpdate,
});

export const getRoomKeyBySessionId = defineEndpoint({
  name: 'getRoomKeyBySessionId',
  method: 'GET',
  ...clientV3('/room_keys/keys/{roomId}/{sessionId}'),
  auth: 'user',
  params: SessionParams,
  query: VersionQuery,
  response: KeyBackupData,
});

export const deleteRoomKeyBySessionId = defineEndpoint({
  name: 'deleteRoomKeyBySessionId',
  method: 'DELETE',
  ...clientV3('/room_keys/keys/{roomId}/{sessionId}'),
  auth: 'user',
  params: SessionParams,
  query: VersionQuery,
  response: RoomKeysUpdate,
});
