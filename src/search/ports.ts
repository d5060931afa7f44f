import type { RoomReads, TimelineEvent } from '../rooms/index.js';

/**
 * The storage server-side search needs. src/storage/search-store.ts implements the full-text part on
 * PostgreSQL (both engines; migration 0012); the room reads come from the room store.
 */

/** A room the user may search, and up to where: a user who left reads up to their leaving. */
export interface RoomScope {
  readonly roomId: string;
  /** The position of their leave (or ban); undefined while they are joined. */
  readonly upTo: number | undefined;
}

/** Where the previous page stopped: the last row read, in the order of the search. */
export interface SearchCursor {
  readonly rank: number;
  readonly position: number;
}

/** What to match: the words, which event types (from the searched keys), where and by whom. */
export interface SearchScope {
  readonly term: string;
  readonly types: readonly string[];
  readonly rooms: readonly RoomScope[];
  /** Only these senders, when given. */
  readonly senders: readonly string[] | undefined;
  readonly notSenders: readonly string[];
}

export interface SearchQuery extends SearchScope {
  /** rank: most relevant first (then newest); recent: newest first. */
  readonly order: 'rank' | 'recent';
  /** Rows strictly after this one in the order; from the start when absent. */
  readonly after: SearchCursor | undefined;
  readonly limit: number;
}

/**
 * A timeline event that matches (never an outlier, rejected or soft-failed event), with its relevance and
 * the words of its text that matched, as they are written there.
 */
export interface SearchHit extends TimelineEvent {
  readonly rank: number;
  readonly matchedWords: readonly string[];
}

export interface SearchStore {
  /** Matching events in the asked order, at most `limit`. Visibility and redactions are the caller's. */
  searchEvents(query: SearchQuery): Promise<SearchHit[]>;
  /** How many events match in all (an estimate for the client: visibility is not applied). */
  countMatches(scope: SearchScope): Promise<number>;
}

/** The room reads search uses: memberships, visibility, redactions, context and state. */
export type SearchRoomReads = Pick<
  RoomReads,
  | 'roomsWithMembership' | 'forgottenRooms' | 'currentStateEntries' | 'currentState' | 'events' | 'stateAfter'
  | 'statesAround' | 'membershipHistory' | 'redactionsOf' | 'replacedStates' | 'timelineEvents'
>;
