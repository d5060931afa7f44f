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

/** A pusher as stored: the device whose token set it, and the client's fields in camelCase. */
export interface PusherRecord {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly kind: 'http' | 'email';
  readonly appId: string;
  readonly pushkey: string;
  readonly appDisplayName: string;
  readonly deviceDisplayName: string;
  readonly profileTag: string | null;
  readonly lang: string;
  /** The client's `data` object as given (url, format and any custom keys). */
  readonly data: Readonly<Record<string, unknown>>;
  readonly createdTs: number;
}

/**
 * Pushers of local users (src/storage/pushers-store.ts). A pusher goes with the device that set it: the
 * store deletes it when the device is deleted (logout, password change, deactivation).
 */
export interface PusherStore {
  /** The user's pushers, oldest first. */
  pushers(userId: UserId): Promise<PusherRecord[]>;
  /**
   * Creates or replaces the user's pusher with this app id and pushkey; unless `append`, deletes the
   * pushers of other users with the same app id and pushkey, in one transaction.
   */
  setPusher(pusher: PusherRecord, append: boolean): Promise<void>;
  /** false when the user had no such pusher. */
  deletePusher(userId: UserId, appId: string, pushkey: string): Promise<boolean>;
}
