import { MatrixError, parseRoomId, type UserId } from '../protocol/index.js';
import type { AccountDataStore, Requester } from './ports.js';

/**
 * Room tags (client-server API, "Room Tagging"): kept as the room account data `m.tag`
 * (`{ tags: { name: { order? } } }`), so /sync delivers them to the user's other clients like any
 * other account data.
 */

const TAG_TYPE = 'm.tag';

/** The spec's cap on a tag's name. */
export const MAX_TAG_BYTES = 255;

export type Tag = { order?: number } & Record<string, unknown>;

export interface TagDeps {
  readonly store: Pick<AccountDataStore, 'accountData' | 'putAccountData'>;
}

export function createTagService(deps: TagDeps) {
  const { store } = deps;

  function ownUser(requester: Requester, userId: string): UserId {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'You can only read and change your own tags');
    return requester.userId;
  }

  async function current(userId: UserId, roomId: string): Promise<Record<string, Tag>> {
    const tags = (await store.accountData(userId, roomId, TAG_TYPE))?.tags;
    return typeof tags === 'object' && tags !== null && !Array.isArray(tags) ? { ...(tags as Record<string, Tag>) } : {};
  }

  // Changes read the m.tag object and write it back whole: two clients of one user racing on one room
  // can lose a tag, which the next sync shows them (Synapse keeps a row per tag; account data keeps one).
  return {
    /** GET /user/{userId}/rooms/{roomId}/tags. */
    async tags(requester: Requester, userId: string, roomId: string): Promise<Record<string, Tag>> {
      return current(ownUser(requester, userId), parseRoomId(roomId));
    },

    /** PUT /user/{userId}/rooms/{roomId}/tags/{tag}: adds the tag or replaces its data. */
    async setTag(requester: Requester, userId: string, roomIdValue: string, tag: string, data: Readonly<Tag>): Promise<void> {
      const owner = ownUser(requester, userId);
      const roomId = parseRoomId(roomIdValue);
      if (tag === '' || Buffer.byteLength(tag, 'utf8') > MAX_TAG_BYTES) {
        throw new MatrixError('M_INVALID_PARAM', `A tag must be 1 to ${MAX_TAG_BYTES} bytes long`);
      }
      // fromEntries, not assignment, so that a tag named __proto__ is stored as a tag like any other.
      const others = Object.entries(await current(owner, roomId)).filter(([name]) => name !== tag);
      await store.putAccountData(owner, roomId, TAG_TYPE, { tags: Object.fromEntries([...others, [tag, { ...data }]]) });
    },

    /** DELETE /user/{userId}/rooms/{roomId}/tags/{tag}: removing a tag the room does not have is not an error. */
    async deleteTag(requester: Requester, userId: string, roomIdValue: string, tag: string): Promise<void> {
      const owner = ownUser(requester, userId);
      const roomId = parseRoomId(roomIdValue);
      const tags = await current(owner, roomId);
      if (!Object.hasOwn(tags, tag)) return;
      const rest = Object.entries(tags).filter(([name]) => name !== tag);
      await store.putAccountData(owner, roomId, TAG_TYPE, { tags: Object.fromEntries(rest) });
    },
  };
}

export type TagService = ReturnType<typeof createTagService>;
