/**
 * Quarantining media (Synapse's admin API): a server admin takes content out of circulation — one piece,
 * all a room's events name, or all a user uploaded. Quarantined content is served to no client and no other
 * server (downloads and thumbnails answer 404), whether this server holds a copy yet or not; lifting the
 * quarantine serves it again. Nothing is deleted.
 */
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { isServerName, isUserId, MatrixError, parseRoomId } from '../protocol/index.js';
import { checkMediaId } from './content.js';
import type { MediaStore } from './ports.js';

export interface MediaQuarantineDeps {
  readonly store: Pick<MediaStore, 'quarantine' | 'unquarantine' | 'uploadsOf' | 'mediaInRoom'>;
  readonly isServerAdmin: (userId: string) => Promise<boolean>;
  readonly clock: Clock;
  readonly log: Logger;
}

export type MediaQuarantine = ReturnType<typeof createMediaQuarantine>;

export function createMediaQuarantine(deps: MediaQuarantineDeps) {
  const { store, clock } = deps;
  const log = deps.log.child({ component: 'media-quarantine' });

  async function admin(requester: { readonly userId: string }): Promise<string> {
    if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
    return requester.userId;
  }

  function checkOrigin(origin: string): void {
    if (!isServerName(origin)) throw new MatrixError('M_INVALID_PARAM', `'${origin.slice(0, 100)}' is not a server name`);
  }

  return {
    /** POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}. */
    async quarantineOne(requester: { readonly userId: string }, origin: string, mediaId: string): Promise<void> {
      const by = await admin(requester);
      checkOrigin(origin);
      checkMediaId(mediaId);
      await store.quarantine([{ origin, mediaId }], by, clock.now());
      log.info({ admin: by, origin, mediaId }, 'media quarantined');
    },

    /** POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}. */
    async unquarantineOne(requester: { readonly userId: string }, origin: string, mediaId: string): Promise<void> {
      const by = await admin(requester);
      checkOrigin(origin);
      checkMediaId(mediaId);
      if (await store.unquarantine(origin, mediaId)) log.info({ admin: by, origin, mediaId }, 'media quarantine lifted');
    },

    /** POST /_synapse/admin/v1/room/{roomId}/media/quarantine: every piece of content the room's events name. */
    async quarantineRoom(requester: { readonly userId: string }, roomIdValue: string): Promise<number> {
      const by = await admin(requester);
      const roomId = parseRoomId(roomIdValue);
      const count = await store.quarantine(await store.mediaInRoom(roomId), by, clock.now());
      log.info({ admin: by, roomId, count }, 'room media quarantined');
      return count;
    },

    /** POST /_synapse/admin/v1/user/{userId}/media/quarantine: everything the user uploaded here. */
    async quarantineUser(requester: { readonly userId: string }, userId: string): Promise<number> {
      const by = await admin(requester);
      if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `${userId.slice(0, 100)} is not a user id`);
      const count = await store.quarantine(await store.uploadsOf(userId), by, clock.now());
      log.info({ admin: by, userId, count }, 'user media quarantined');
      return count;
    },
  };
}
