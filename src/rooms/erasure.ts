/**
 * Erasure (client-server API, POST /account/deactivate with `erase: true`): the user asked that their
 * content be erased as far as the server can. Users who were not in the room when an erased user's message
 * was sent, and other servers, are served it redacted; those who were joined then keep seeing it whole,
 * as Synapse serves it (src/rooms/redactions.ts and src/rooms/federation-reads.ts apply it). State events
 * stay whole: the room's name or topic the user set is the room's, not theirs.
 *
 * The erased users are few and read on every event served, so each process keeps them in memory: loaded
 * at start-up, added to as this process erases an account or hears of another process's (server.ts
 * wires the bus).
 */
export interface ErasedUsers {
  /** Whether the user's account was erased. */
  isErased(userId: string): boolean;
  /** Whether any account was: when none was, nothing else need be asked. */
  readonly any: boolean;
}

export function createErasedUsers(initial: Iterable<string> = []) {
  const erased = new Set(initial);
  return {
    isErased: (userId: string): boolean => erased.has(userId),
    get any(): boolean {
      return erased.size > 0;
    },
    /** The account was erased (here or in another process). */
    add(userId: string): void {
      erased.add(userId);
    },
  };
}
