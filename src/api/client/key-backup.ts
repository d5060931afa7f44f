import type { FastifyInstance } from 'fastify';
import type { BackedUpRoomKey, BackupVersionInfo, KeyBackupService, RoomKeyData } from '../../e2ee/index.js';
import {
  deleteRoomKeyBySessionId,
  deleteRoomKeys,
  deleteRoomKeysByRoomId,
  deleteRoomKeysVersion,
  getRoomKeyBySessionId,
  getRoomKeys,
  getRoomKeysByRoomId,
  getRoomKeysVersion,
  getRoomKeysVersionCurrent,
  postRoomKeysVersion,
  putRoomKeyBySessionId,
  putRoomKeys,
  putRoomKeysByRoomId,
  putRoomKeysVersion,
} from '../../protocol/endpoints/key-backup.js';
import { route } from '../plumbing/route.js';

interface KeyBackupDataJson {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: unknown;
}

type SessionsJson = Record<string, KeyBackupDataJson>;

const versionJson = (info: BackupVersionInfo) => ({
  algorithm: info.algorithm,
  auth_data: info.authData,
  count: info.count,
  etag: info.etag,
  version: info.version,
});

const keyJson = (key: RoomKeyData): KeyBackupDataJson => ({
  first_message_index: key.firstMessageIndex,
  forwarded_count: key.forwardedCount,
  is_verified: key.isVerified,
  session_data: key.sessionData,
});

const keyFromJson = (roomId: string, sessionId: string, json: KeyBackupDataJson): BackedUpRoomKey => ({
  roomId,
  sessionId,
  firstMessageIndex: json.first_message_index,
  forwardedCount: json.forwarded_count,
  isVerified: json.is_verified,
  sessionData: json.session_data,
});

const keysFromSessions = (roomId: string, sessions: SessionsJson): BackedUpRoomKey[] =>
  Object.entries(sessions).map(([sessionId, json]) => keyFromJson(roomId, sessionId, json));

/** The spec's `rooms` map: room id -> { sessions: session id -> key data }. */
function roomsJson(keys: readonly BackedUpRoomKey[]): Record<string, { sessions: SessionsJson }> {
  // Built as entries: ids are the client's strings, and one named __proto__ must stay a plain key.
  const rooms = new Map<string, Array<[string, KeyBackupDataJson]>>();
  for (const key of keys) {
    let sessions = rooms.get(key.roomId);
    if (!sessions) rooms.set(key.roomId, (sessions = []));
    sessions.push([key.sessionId, keyJson(key)]);
  }
  return Object.fromEntries([...rooms].map(([roomId, sessions]) => [roomId, { sessions: Object.fromEntries(sessions) }]));
}

/** /room_keys/version and /room_keys/keys at its three levels: each handler unpacks, calls the key backup service, shapes. */
export function keyBackupRoutes(backup: KeyBackupService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, postRoomKeysVersion, async ({ requester, body }) => ({
      version: await backup.createVersion(requester.userId, body.algorithm, body.auth_data),
    }));
    route(app, getRoomKeysVersionCurrent, async ({ requester }) => versionJson(await backup.version(requester.userId)));
    route(app, getRoomKeysVersion, async ({ requester, params }) => versionJson(await backup.version(requester.userId, params.version)));
    route(app, putRoomKeysVersion, async ({ requester, params, body }) => {
      await backup.updateVersion(requester.userId, params.version, { algorithm: body.algorithm, authData: body.auth_data, version: body.version === undefined ? undefined : String(body.version) });
      return {};
    });
    route(app, deleteRoomKeysVersion, async ({ requester, params }) => {
      await backup.deleteVersion(requester.userId, params.version);
      return {};
    });

    route(app, putRoomKeys, async ({ requester, query, body }) => {
      const keys = Object.entries(body.rooms).flatMap(([roomId, room]) => keysFromSessions(roomId, room.sessions));
      return backup.putKeys(requester.userId, query.version, keys);
    });
    route(app, putRoomKeysByRoomId, async ({ requester, params, query, body }) =>
      backup.putKeys(requester.userId, query.version, keysFromSessions(params.roomId, body.sessions)));
    route(app, putRoomKeyBySessionId, async ({ requester, params, query, body }) =>
      backup.putKeys(requester.userId, query.version, [keyFromJson(params.roomId, params.sessionId, body)]));

    route(app, getRoomKeys, async ({ requester, query }) => ({ rooms: roomsJson(await backup.keys(requester.userId, query.version)) }));
    route(app, getRoomKeysByRoomId, async ({ requester, params, query }) => {
      const keys = await backup.keys(requester.userId, query.version, { roomId: params.roomId });
      return { sessions: Object.fromEntries(keys.map((key) => [key.sessionId, keyJson(key)])) };
    });
    route(app, getRoomKeyBySessionId, async ({ requester, params, query }) =>
      keyJson(await backup.key(requester.userId, query.version, params.roomId, params.sessionId)));

    route(app, deleteRoomKeys, async ({ requester, query }) => backup.deleteKeys(requester.userId, query.version));
    route(app, deleteRoomKeysByRoomId, async ({ requester, params, query }) =>
      backup.deleteKeys(requester.userId, query.version, { roomId: params.roomId }));
    route(app, deleteRoomKeyBySessionId, async ({ requester, params, query }) =>
      backup.deleteKeys(requester.userId, query.version, { roomId: params.roomId, sessionId: params.sessionId }));
  };
}
