import type { UserId } from '../protocol/index.js';

/**
 * The storage push rules need: the user's global account data, where the effective ruleset is kept as
 * m.push_rules so /sync carries every change to the user's clients. The account data store
 * (src/storage/user-data-store.ts) implements it.
 */
export interface PushRuleStore {
  /** Stores the content at a new position on the account-data stream. */
  putAccountData(userId: UserId, roomId: null, type: string, content: Readonly<Record<string, unknown>>): Promise<number>;
  accountData(userId: UserId, roomId: null, type: string): Promise<Readonly<Record<string, unknown>> | undefined>;
}
