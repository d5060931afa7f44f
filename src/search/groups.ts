import type { GroupKey } from './batch-token.js';

/**
 * The `groups` of a search page: for each asked key, the page's results partitioned by their room or
 * sender, each group ordered by where its first result ranks, with a token to page on within the group
 * while the search as a whole has more. Pure.
 */

export interface GroupValue {
  readonly results: string[];
  readonly order: number;
  readonly next_batch?: string;
}

export interface Grouped {
  readonly eventId: string;
  readonly roomId: string;
  readonly sender: string;
}

export function groupResults(
  keys: readonly GroupKey[],
  results: readonly Grouped[],
  nextInGroup: ((key: GroupKey, value: string) => string) | undefined,
): Record<string, Record<string, GroupValue>> {
  const groups: Record<string, Record<string, GroupValue>> = {};
  for (const key of new Set(keys)) {
    const byValue: Record<string, { results: string[]; order: number; next_batch?: string }> = {};
    for (const result of results) {
      const value = key === 'room_id' ? result.roomId : result.sender;
      const entry = (byValue[value] ??= {
        results: [],
        order: Object.keys(byValue).length + 1,
        ...(nextInGroup === undefined ? {} : { next_batch: nextInGroup(key, value) }),
      });
      entry.results.push(result.eventId);
    }
    groups[key] = byValue;
  }
  return groups;
}
