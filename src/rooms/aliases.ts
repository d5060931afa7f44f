import { isMatrixError, MatrixError, parseRoomAlias, parseRoomId, serverNameOf, type RoomAlias, type RoomId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Caller } from './client-rooms.js';
import type { AliasStore } from './ports.js';
import { currentStateContent, maySendState, type PowerReads } from './room-power.js';
import type { RoomServer } from './room-server.js';

/**
 * Room aliases (client-server API, "Room aliases"): this server's aliases map to rooms it holds; anyone
 * may resolve one, a member makes one, its creator, a server admin or a member with power over the
 * room's canonical alias removes one.
 */

/** The room alias `#localpart:server`, refused as the spec and Synapse refuse a bad new alias. */
export function newLocalAlias(localpart: string, serverName: string): RoomAlias {
  if (localpart === '' || /[\s:]/u.test(localpart)) {
    throw new MatrixError('M_INVALID_PARAM', `'${localpart}' cannot be a room alias: it must be non-empty, without spaces or ':'`);
  }
  return parseRoomAlias(`#${localpart}:${serverName}`);
}

/** The aliases an m.room.canonical_alias content names (alias and alt_aliases), as given. */
export function canonicalAliasesOf(content: Readonly<Record<string, unknown>> | undefined): unknown[] {
  if (!content) return [];
  const alt = content.alt_aliases;
  return [...(content.alias === undefined ? [] : [content.alias]), ...(Array.isArray(alt) ? alt : alt === undefined ? [] : [alt])];
}

export interface AliasServiceDeps {
  readonly aliases: AliasStore;
  readonly store: PowerReads;
  /** Sends the updated m.room.canonical_alias when a deleted alias was in it. */
  readonly rooms: Pick<RoomServer, 'send'>;
  readonly isServerAdmin: (userId: string) => Promise<boolean>;
  readonly serverName: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Looks up an alias of another server on that server (federation query/directory); absent: not found. */
  readonly remoteAlias?: (alias: string) => Promise<{ roomId: string; servers: string[] }>;
  /** Application services' alias namespaces; absent: none is configured. */
  readonly appServices?: AppServiceAliases;
}

/** What aliases need of the application services (src/appservice implements it). */
export interface AppServiceAliases {
  /** Whether the alias is in one of the service's alias namespaces: it may create and delete it. */
  owns(serviceId: string, alias: string): boolean;
  /** The id of a service that claims the alias exclusively: nobody else may create it. */
  exclusiveOwner(alias: string): string | undefined;
  /**
   * Asks the services interested in an unknown local alias whether it exists (they create the room when
   * it should): true when one says so, and the alias should be looked up again.
   */
  query(alias: string): Promise<boolean>;
}

/**
 * A local alias's record; one unknown here is asked of the application services covering it (`ask`),
 * which may make it on demand (a bridged channel), and looked up once more when one says it did.
 */
export async function localAliasRecord(aliases: Pick<AliasStore, 'alias'>, alias: string, ask?: (alias: string) => Promise<boolean>) {
  return (await aliases.alias(alias)) ?? ((await ask?.(alias)) ? aliases.alias(alias) : undefined);
}

export function createAliasService(deps: AliasServiceDeps) {
  const { aliases, store, serverName, log } = deps;

  /** An alias of this server; the spec lets a server refuse to keep aliases of other servers. */
  function localAlias(value: string): RoomAlias {
    const alias = parseRoomAlias(value);
    if (serverNameOf(alias) !== serverName) {
      throw new MatrixError('M_INVALID_PARAM', `${alias} is not an alias of this server (${serverName}); only its own aliases can be changed here`);
    }
    return alias;
  }

  async function mayRemove(caller: Caller, alias: string, creator: string, roomId: string): Promise<boolean> {
    return (
      caller.userId === creator ||
      (caller.appservice !== undefined && deps.appServices?.owns(caller.appservice.id, alias) === true) ||
      (await deps.isServerAdmin(caller.userId)) ||
      (await maySendState(store, roomId, caller.userId, 'm.room.canonical_alias'))
    );
  }

  /**
   * Takes the deleted alias out of the room's m.room.canonical_alias, as the caller. The spec asks that
   * the delete succeed even when the caller may not change that event, so a refusal is only logged.
   */
  async function dropFromCanonicalAlias(caller: Caller, roomId: string, alias: string): Promise<void> {
    const content = await currentStateContent(store, roomId, 'm.room.canonical_alias');
    if (!content || !canonicalAliasesOf(content).includes(alias)) return;
    const next: Record<string, unknown> = { ...content };
    if (next.alias === alias) delete next.alias;
    if (Array.isArray(next.alt_aliases)) next.alt_aliases = next.alt_aliases.filter((a: unknown) => a !== alias);
    try {
      await deps.rooms.send(roomId, { type: 'm.room.canonical_alias', stateKey: '', sender: caller.userId, content: next });
    } catch (err) {
      if (!isMatrixError(err)) throw err;
      log.info({ roomId, userId: caller.userId, errcode: err.errcode }, 'canonical alias not updated after alias delete');
    }
  }

  return {
    /** PUT /directory/room/{roomAlias}: a member of the room maps a new alias of this server to it. */
    async create(caller: Caller, value: string, roomIdValue: string): Promise<void> {
      const alias = localAlias(value);
      if (/\s/u.test(alias)) throw new MatrixError('M_INVALID_PARAM', 'A room alias cannot contain spaces');
      const roomId = parseRoomId(roomIdValue);
      if (!(await store.room(roomId))) throw new MatrixError('M_NOT_FOUND', `There is no room ${roomId} on this server`);
      if (caller.appservice !== undefined) {
        // An application service has full control of its alias namespaces, and of those only, in any room.
        if (deps.appServices?.owns(caller.appservice.id, alias) !== true) {
          throw new MatrixError('M_EXCLUSIVE', `${alias} is outside the alias namespaces of the application service ${caller.appservice.id}`);
        }
      } else {
        const owner = deps.appServices?.exclusiveOwner(alias);
        if (owner !== undefined) throw new MatrixError('M_EXCLUSIVE', `${alias} is reserved for the application service ${owner}`);
        const member = await currentStateContent(store, roomId, 'm.room.member', caller.userId);
        if (member?.membership !== 'join') throw new MatrixError('M_FORBIDDEN', `You must be in room ${roomId} to give it an alias`);
      }
      if (!(await aliases.createAlias({ alias, roomId, creator: caller.userId }, deps.clock.now()))) {
        throw new MatrixError('M_UNKNOWN', `Room alias ${alias} already exists`, { status: 409 });
      }
      log.info({ roomId, userId: caller.userId }, 'room alias created');
    },

    /** GET /directory/room/{roomAlias}: the room and the servers that can help join it. */
    async resolve(value: string): Promise<{ roomId: RoomId; servers: string[] }> {
      const alias = parseRoomAlias(value);
      if (serverNameOf(alias) !== serverName) {
        if (!deps.remoteAlias) throw new MatrixError('M_NOT_FOUND', `${alias} is on another server, and federation is not available on this server yet`);
        const { roomId, servers } = await deps.remoteAlias(alias);
        return { roomId: parseRoomId(roomId), servers };
      }
      const record = await localAliasRecord(aliases, alias, deps.appServices?.query);
      if (!record) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
      return { roomId: record.roomId as RoomId, servers: [serverName] };
    },

    /** DELETE /directory/room/{roomAlias}. */
    async delete(caller: Caller, value: string): Promise<void> {
      const alias = localAlias(value);
      const record = await aliases.alias(alias);
      if (!record) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
      if (!(await mayRemove(caller, alias, record.creator, record.roomId))) {
        throw new MatrixError('M_FORBIDDEN', `You did not create ${alias} and may not change the aliases of its room`);
      }
      if (!(await aliases.deleteAlias(alias))) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found`);
      log.info({ roomId: record.roomId, userId: caller.userId }, 'room alias deleted');
      await dropFromCanonicalAlias(caller, record.roomId, alias);
    },

    /** GET /rooms/{roomId}/aliases: for members, or anyone when the room's history is world_readable. */
    async roomAliases(caller: Caller, roomIdValue: string): Promise<string[]> {
      const roomId = parseRoomId(roomIdValue);
      const held = await store.room(roomId);
      const member = held ? await currentStateContent(store, roomId, 'm.room.member', caller.userId) : undefined;
      const history = held ? await currentStateContent(store, roomId, 'm.room.history_visibility') : undefined;
      if (member?.membership !== 'join' && history?.history_visibility !== 'world_readable') {
        throw new MatrixError('M_FORBIDDEN', `You are not a member of room ${roomId}`);
      }
      return aliases.roomAliases(roomId);
    },
  };
}

export type AliasService = ReturnType<typeof createAliasService>;
