import { formatPaginationToken, formatStreamToken, MatrixError, ZERO_STREAM_TOKEN, type StreamToken } from '../protocol/index.js';
import type { ClientEvent, StoredEvent, TimelineEvent } from '../rooms/index.js';
import type { AccountDataChange, Requester } from '../users/index.js';
import { createLegacyReads, legacyPresence, offlinePresence, type LegacySyncDeps } from './legacy-reads.js';

/**
 * GET /initialSync and GET /rooms/{roomId}/initialSync, the v1 snapshots (deprecated in r0 and gone
 * from the current spec; Synapse still serves them and sytest reads them). A room's snapshot is its
 * state and latest messages: now for a member, as they were at the leave for one who left (so nothing
 * after it shows), and for anyone else only in a world-readable room, whose events they see as history
 * visibility allows.
 */

export interface RoomSnapshot {
  room_id: string;
  membership?: string;
  visibility?: 'public' | 'private';
  inviter?: string;
  invite?: ClientEvent;
  messages?: { chunk: ClientEvent[]; start: string; end: string };
  state?: ClientEvent[];
  account_data: object[];
  presence?: object[];
  receipts?: object[];
}

export interface InitialSyncResponse {
  rooms: RoomSnapshot[];
  presence: object[];
  account_data: object[];
  receipts: object[];
  end: string;
}

/** Messages per room when the client names no limit (Synapse's default). */
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 1000;

export function createLegacyInitialSync(deps: LegacySyncDeps) {
  const reads = createLegacyReads(deps);
  const { streams } = deps;
  const limitOf = (limit: number | undefined) => Math.min(Math.max(limit ?? DEFAULT_LIMIT, 0), MAX_LIMIT);

  async function messages(userId: string, roomId: string, upTo: number, limit: number, end: string) {
    const events: TimelineEvent[] = await reads.lastEvents(userId, roomId, upTo, limit);
    const first = events[0];
    return {
      chunk: await reads.serve(events, userId),
      // /messages backwards from start continues before the chunk.
      start: formatPaginationToken(first === undefined ? upTo : first.streamPosition - 1),
      end,
    };
  }

  async function visibility(roomId: string): Promise<'public' | 'private'> {
    return (await deps.directory?.isPublished(roomId)) ? 'public' : 'private';
  }

  /** A member's (or former member's) snapshot: up to `upTo` (their leave), or now. */
  async function roomSnapshot(userId: string, roomId: string, membership: string, upTo: number | undefined, now: StreamToken, limit: number) {
    const until = upTo ?? now.events;
    const state: StoredEvent[] = await reads.stateAt(roomId, upTo);
    return {
      room_id: roomId,
      membership,
      visibility: await visibility(roomId),
      messages: await messages(userId, roomId, until, limit, upTo === undefined ? formatStreamToken(now) : formatPaginationToken(until)),
      state: await reads.serve(state, userId),
    };
  }

  function roomAccountData(changes: readonly AccountDataChange[], roomId: string): object[] {
    return changes.filter((c) => c.roomId === roomId).map((c) => ({ type: c.type, content: c.content }));
  }

  async function receiptEvents(userId: string, roomIds: readonly string[]): Promise<object[]> {
    if (!streams || roomIds.length === 0) return [];
    const { rooms } = await streams.receipts.receiptsSince(userId, roomIds, 0);
    return [...rooms].map(([roomId, content]) => ({ type: 'm.receipt', room_id: roomId, content }));
  }

  /** Everyone's presence in the rooms: a snapshot, so members never seen online are there as offline. */
  async function presenceEvents(userId: string, roomIds: readonly string[]): Promise<object[]> {
    if (!streams) return [];
    const users = await reads.presenceOf(userId, roomIds);
    const known = (await streams.presence.presenceSince(users, 0)).events as ReadonlyArray<{ sender?: string }>;
    const seen = new Set(known.map((event) => event.sender));
    return [...known.map(legacyPresence), ...users.filter((user) => !seen.has(user)).map(offlinePresence)];
  }

  return {
    /** GET /initialSync: every room the user is in or invited to (and, with archived, has left). */
    async initialSync(requester: Requester, request: { limit?: number; archived: boolean }): Promise<InitialSyncResponse> {
      const userId = requester.userId;
      const limit = limitOf(request.limit);
      // Like a /sync without set_presence, an initial sync says the user is online (their own presence in
      // the answer then shows it, as sytest's SYT-34 expects of Synapse).
      if (streams) await streams.presence.setFromSync(userId, 'online');
      const { memberships, accountData, forgotten } = await deps.store.snapshot(async (snap) => ({
        memberships: await snap.currentMemberships(userId),
        accountData: await snap.accountDataSince(userId, 0),
        forgotten: new Set(await snap.forgottenRooms(userId)),
      }));
      const now = await reads.nowToken(userId, ZERO_STREAM_TOKEN);
      const wanted = new Set(request.archived ? ['join', 'invite', 'leave', 'ban'] : ['join', 'invite']);
      const rooms: RoomSnapshot[] = [];
      const joined: string[] = [];
      for (const row of memberships) {
        if (!wanted.has(row.membership) || forgotten.has(row.roomId)) continue;
        if (row.position !== null && row.position > now.events) continue;
        const account_data = roomAccountData(accountData, row.roomId);
        if (row.membership === 'invite') {
          const invite = (await deps.rooms.events([row.eventId])).get(row.eventId);
          const [served] = invite ? await reads.serve([invite], userId) : [];
          rooms.push({
            room_id: row.roomId,
            membership: 'invite',
            visibility: await visibility(row.roomId),
            ...(invite ? { inviter: invite.event.sender } : {}),
            ...(served ? { invite: served } : {}),
            account_data,
          });
          continue;
        }
        if (row.membership === 'join') joined.push(row.roomId);
        const upTo = row.membership === 'join' ? undefined : (row.position ?? 0);
        rooms.push({ ...(await roomSnapshot(userId, row.roomId, row.membership, upTo, now, limit)), account_data });
      }
      return {
        rooms,
        presence: await presenceEvents(userId, joined),
        account_data: accountData.filter((c) => c.roomId === null).map((c) => ({ type: c.type, content: c.content })),
        receipts: await receiptEvents(userId, joined),
        end: formatStreamToken(now),
      };
    },

    /** GET /rooms/{roomId}/initialSync: one room, for a member, a former member, or anyone if world-readable. */
    async roomInitialSync(requester: Requester, value: string, request: { limit?: number }): Promise<RoomSnapshot> {
      const userId = requester.userId;
      const roomId = await reads.heldRoom(value);
      const limit = limitOf(request.limit);
      const { membership, event } = await reads.membership(roomId, userId);
      const now = await reads.nowToken(userId, ZERO_STREAM_TOKEN);
      const accountData = await deps.store.snapshot((snap) => snap.accountDataSince(userId, 0));
      const account_data = roomAccountData(accountData, roomId);
      if (membership === 'join') {
        return {
          ...(await roomSnapshot(userId, roomId, 'join', undefined, now, limit)),
          account_data,
          presence: await presenceEvents(userId, [roomId]),
          receipts: await receiptEvents(userId, [roomId]),
        };
      }
      if ((membership === 'leave' || membership === 'ban') && event?.streamPosition != null) {
        // Nothing after the leave: no presence or receipts of the room now.
        return { ...(await roomSnapshot(userId, roomId, membership, event.streamPosition, now, limit)), account_data, presence: [], receipts: [] };
      }
      if (!(await reads.worldReadable(roomId))) {
        throw new MatrixError('M_FORBIDDEN', `You are not in room ${roomId}, and its history is not world-readable`);
      }
      // Peeking: the room as it is now, its events as far as history visibility shows them to a non-member.
      return {
        ...(await roomSnapshot(userId, roomId, membership, undefined, now, limit)),
        account_data,
        presence: await presenceEvents(userId, [roomId]),
        receipts: await receiptEvents(userId, [roomId]),
      };
    },
  };
}

export type LegacyInitialSync = ReturnType<typeof createLegacyInitialSync>;
