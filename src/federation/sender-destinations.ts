import { stateKey } from '../events/index.js';
import type { RoomReads, TimelineEvent } from '../rooms/index.js';

/** The room reads choosing destinations needs. */
export type DestinationReads = Pick<RoomReads, 'stateBefore' | 'stateAfter' | 'currentState' | 'events'>;

/** Member events' verdicts remembered at most; member events never change, so entries never go stale. */
const MAX_REMEMBERED_MEMBERS = 200_000;

/** Every m.room.member state key starts so (state keys are JSON pairs): cheaper than parsing each key. */
const MEMBER_KEY_PREFIX = stateKey('m.room.member', '').slice(0, -3);

/**
 * Which servers an event goes to, as Synapse sends them: those with a joined member in the room before or
 * after the event (a kicked, banned or leaving member's server hears of it; a joining one gets its join).
 * An invite reaches a server outside the room through /invite, not here. One exception: a withdrawn invite
 * or an answered knock (a leave or ban of a user who was invited or knocking) also goes to that user's
 * server, which holds the invite or knock and would otherwise never learn its end. Never this server.
 */
export function createDestinationFinder(reads: DestinationReads, serverName: string) {
  // Member event id -> the server of a joined member, or null for any other membership.
  const joinedServerOf = new Map<string, string | null>();

  async function joinedServers(memberEventIds: readonly string[]): Promise<Set<string>> {
    const servers = new Set<string>();
    const unknown = memberEventIds.filter((id) => !joinedServerOf.has(id));
    if (unknown.length > 0) {
      if (joinedServerOf.size + unknown.length > MAX_REMEMBERED_MEMBERS) joinedServerOf.clear();
      const loaded = await reads.events(unknown);
      for (const id of unknown) {
        const event = loaded.get(id)?.event;
        const joined = event !== undefined && event.stateKey !== undefined && event.content.membership === 'join';
        joinedServerOf.set(id, joined ? serverOfUser(event.stateKey!) : null);
      }
    }
    for (const id of memberEventIds) {
      const server = joinedServerOf.get(id);
      if (server) servers.add(server);
    }
    return servers;
  }

  async function serversIn(state: ReadonlyMap<string, string> | undefined): Promise<Set<string>> {
    const members: string[] = [];
    for (const [key, eventId] of state ?? []) {
      if (key.startsWith(MEMBER_KEY_PREFIX)) members.push(eventId);
    }
    return joinedServers(members);
  }

  return {
    /** The other servers with a joined member in the room now (for EDUs about the room: typing, receipts). */
    async roomDestinations(roomId: string): Promise<string[]> {
      const servers = await serversIn(await reads.currentState(roomId));
      servers.delete(serverName);
      return [...servers].sort();
    },

    /**
     * For a join that makes users newly share a room (not a joined member's profile change): who should
     * now hear whose presence. A user of another server whose server was not in the room yet: that server,
     * about the local members. A local user: the room's other servers, about that user. Undefined otherwise.
     */
    async newlyMet(stored: TimelineEvent): Promise<{ readonly servers: string[]; readonly localUsers: string[] } | undefined> {
      const { event } = stored;
      if (event.type !== 'm.room.member' || event.stateKey === undefined || event.content.membership !== 'join') return undefined;
      const joiner = event.stateKey;
      const before = await reads.stateBefore(event.eventId);
      const previousId = before?.get(stateKey('m.room.member', joiner));
      const previous = previousId === undefined ? undefined : (await reads.events([previousId])).get(previousId)?.event.content.membership;
      if (previous === 'join') return undefined;
      const joinerServer = serverOfUser(joiner);
      if (joinerServer === serverName) {
        const servers = await serversIn(await reads.stateAfter(event.eventId));
        servers.delete(serverName);
        servers.delete('');
        return servers.size === 0 ? undefined : { servers: [...servers].sort(), localUsers: [joiner] };
      }
      if (joinerServer === '' || (await serversIn(before)).has(joinerServer)) return undefined;
      const after = await reads.stateAfter(event.eventId);
      const localMembers: string[] = [];
      for (const [key, eventId] of after ?? []) if (key.startsWith(MEMBER_KEY_PREFIX)) localMembers.push(eventId);
      const loaded = await reads.events(localMembers);
      const localUsers = [...loaded.values()]
        .map(({ event: member }) => member)
        .filter((member) => member.content.membership === 'join' && member.stateKey !== undefined && serverOfUser(member.stateKey) === serverName)
        .map((member) => member.stateKey as string)
        .sort();
      return localUsers.length === 0 ? undefined : { servers: [joinerServer], localUsers };
    },

    async destinationsOf(stored: TimelineEvent): Promise<string[]> {
      const { event } = stored;
      const before = await reads.stateBefore(event.eventId);
      const servers = await serversIn(before);
      // Only a state event changes who is joined: a message's state after is its state before.
      if (event.stateKey !== undefined) for (const server of await serversIn(await reads.stateAfter(event.eventId))) servers.add(server);
      const membership = event.content.membership;
      if (event.type === 'm.room.member' && event.stateKey !== undefined && (membership === 'leave' || membership === 'ban')) {
        const previousId = before?.get(stateKey('m.room.member', event.stateKey));
        const previous = previousId === undefined ? undefined : (await reads.events([previousId])).get(previousId)?.event.content.membership;
        if (previous === 'invite' || previous === 'knock') servers.add(serverOfUser(event.stateKey));
      }
      servers.delete(serverName);
      servers.delete('');
      return [...servers].sort();
    },
  };
}

export type DestinationFinder = ReturnType<typeof createDestinationFinder>;

/** The server part of a user id ('' when there is none). */
export function serverOfUser(userId: string): string {
  const colon = userId.indexOf(':');
  return colon === -1 ? '' : userId.slice(colon + 1);
}
