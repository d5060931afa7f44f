import type { Endpoint } from '../endpoint.js';
import { logout, logoutAll } from './accounts.js';
import { createContent, uploadContent, uploadContentToMxc } from './media.js';
import { deleteProfileField, setProfileField } from './profile.js';
import { setRoomAlias, setRoomVisibilityOnDirectory } from './directory.js';
import {
  ban,
  createRoom,
  inviteUser,
  joinRoom,
  joinRoomById,
  kick,
  knockRoom,
  sendMessage,
  sendMessageWithoutTxn,
  setRoomState,
  setRoomStateWithKey,
  unban,
  upgradeRoom,
} from './rooms.js';

/**
 * What locked and suspended accounts may call (client-server API, "Account moderation"). A locked
 * account may only log out. A suspended account keeps reading, syncing, leaving, managing its devices,
 * keys and backup, and redacting its own events (checked where redactions are made); it is refused the
 * spec's recommended list: joining and knocking, inviting (and accepting, which is a join), sending
 * messages and state, changing its profile, redacting others' events. Hearth adds the actions that
 * amount to the same: making and upgrading rooms, kicking and banning, room aliases and directory
 * listings, and uploading media.
 */

const OPEN_WHEN_LOCKED: ReadonlySet<string> = new Set([logout, logoutAll].map((endpoint) => endpoint.name));

const REFUSED_WHEN_SUSPENDED: ReadonlySet<string> = new Set(
  [
    createRoom,
    upgradeRoom,
    joinRoom,
    joinRoomById,
    knockRoom,
    inviteUser,
    kick,
    ban,
    unban,
    sendMessage,
    sendMessageWithoutTxn,
    setRoomState,
    setRoomStateWithKey,
    setProfileField,
    deleteProfileField,
    setRoomAlias,
    setRoomVisibilityOnDirectory,
    uploadContent,
    uploadContentToMxc,
    createContent,
  ].map((endpoint) => endpoint.name),
);

/** Whether a locked account's access token is accepted on this endpoint. */
export function lockedMayCall(endpoint: Pick<Endpoint, 'name'>): boolean {
  return OPEN_WHEN_LOCKED.has(endpoint.name);
}

/** Whether a suspended account is refused this endpoint. */
export function refusedWhenSuspended(endpoint: Pick<Endpoint, 'name'>): boolean {
  return REFUSED_WHEN_SUSPENDED.has(endpoint.name);
}
