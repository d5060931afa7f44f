import { stateKey } from '../events/index.js';
import { isRoomId, isUserId, type UserId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { AliasStore, RoomDirectoryStore, RoomReads } from './ports.js';

/**
 * What follows people and servers into the replacement of an upgraded room (client-server API, "Room
 * upgrades": the server should carry over a joining user's personal settings). As Synapse does:
 * - a user joining the replacement gets the old room's tags, its place in m.direct and their push rules
 *   for it, copied to the new room;
 * - a server whose first user joins the replacement (of a room held elsewhere) points its own aliases of
 *   the old room at the new one and moves its directory listing; for a room upgraded here, the upgrade
 *   itself did that (upgrade.ts).
 * It runs after the join has happened: a failure is logged and never undoes or fails the join.
 */

export interface UpgradeCarryDeps {
  readonly store: Pick<RoomReads, 'currentStateEntries' | 'events'>;
  readonly accountData: {
    accountData(userId: UserId, roomId: string | null, type: string): Promise<Readonly<Record<string, unknown>> | undefined>;
    putAccountData(userId: UserId, roomId: string | null, type: string, content: Readonly<Record<string, unknown>>): Promise<number>;
  };
  readonly pushRules: { copyRoomRules(userId: UserId, fromRoom: string, toRoom: string): Promise<void> };
  readonly aliases: Pick<AliasStore, 'alias' | 'createAlias' | 'deleteAlias' | 'roomAliases'>;
  readonly directory: Pick<RoomDirectoryStore, 'isPublished' | 'setPublished'>;
  readonly clock: Clock;
  readonly log: Logger;
}

const TAGS = 'm.tag';
const DIRECT = 'm.direct';

export function createUpgradeCarry(deps: UpgradeCarryDeps) {
  const { store, accountData, log } = deps;

  /** The room the replacement's create event names as its predecessor, if any. */
  async function predecessorOf(roomId: string): Promise<string | undefined> {
    const key = stateKey('m.room.create', '');
    const createId = (await store.currentStateEntries(roomId, [key])).get(key);
    if (createId === undefined) return undefined;
    const predecessor = (await store.events([createId])).get(createId)?.event.content.predecessor;
    const room = typeof predecessor === 'object' && predecessor !== null ? (predecessor as { room_id?: unknown }).room_id : undefined;
    return isRoomId(room) && room !== roomId ? room : undefined;
  }

  async function carryUser(userId: UserId, from: string, to: string): Promise<void> {
    const tags = await accountData.accountData(userId, from, TAGS);
    if (tags !== undefined && (await accountData.accountData(userId, to, TAGS)) === undefined) {
      await accountData.putAccountData(userId, to, TAGS, tags);
    }
    const direct = await accountData.accountData(userId, null, DIRECT);
    if (direct !== undefined) {
      let changed = false;
      const next: Record<string, unknown> = {};
      for (const [partner, rooms] of Object.entries(direct)) {
        if (Array.isArray(rooms) && rooms.includes(from) && !rooms.includes(to)) {
          next[partner] = [...rooms, to];
          changed = true;
        } else {
          next[partner] = rooms;
        }
      }
      if (changed) await accountData.putAccountData(userId, null, DIRECT, next);
    }
    await deps.pushRules.copyRoomRules(userId, from, to);
  }

  return {
    /**
     * `userId` has just joined `roomId` (or made it, upgrading); `firstOfServer`: no other user of this
     * server was in it before, and the room is held elsewhere.
     */
    async joined(userId: string, roomId: string, firstOfServer: boolean): Promise<void> {
      try {
        const from = await predecessorOf(roomId);
        if (from === undefined || !isUserId(userId)) return;
        await carryUser(userId, from, roomId);
        if (firstOfServer) await moveAliasesAndListing(deps, from, roomId);
      } catch (err) {
        log.warn({ err, roomId }, 'could not carry settings over into an upgraded room');
      }
    },
  };
}

export type UpgradeCarry = ReturnType<typeof createUpgradeCarry>;

/** This server's aliases of the old room point at the new one, and its directory listing moves there. */
export async function moveAliasesAndListing(
  deps: Pick<UpgradeCarryDeps, 'aliases' | 'directory' | 'clock'>,
  from: string,
  to: string,
): Promise<void> {
  for (const alias of await deps.aliases.roomAliases(from)) {
    const record = await deps.aliases.alias(alias);
    if (!record || !(await deps.aliases.deleteAlias(alias))) continue;
    await deps.aliases.createAlias({ alias, roomId: to, creator: record.creator }, deps.clock.now());
  }
  if (await deps.directory.isPublished(from)) {
    await deps.directory.setPublished(to, true, deps.clock.now());
    await deps.directory.setPublished(from, false, deps.clock.now());
  }
}
