/** Splitting state sets into the unconflicted state map and the conflicted state set (v2-state-res.md). */
import type { StateKey, StateMap } from '../events/index.js';

export interface Split {
  /** Keys present in every set with the same event. */
  readonly unconflicted: Map<StateKey, string>;
  /** Every event of a key that is missing from some set or differs between sets. */
  readonly conflicted: Set<string>;
}

export function splitConflicts(stateSets: readonly StateMap[]): Split {
  const unconflicted = new Map<StateKey, string>();
  const conflicted = new Set<string>();
  const keys = new Set<StateKey>();
  for (const set of stateSets) for (const key of set.keys()) keys.add(key);
  for (const key of keys) {
    const first = stateSets[0]?.get(key);
    if (first !== undefined && stateSets.every((set) => set.get(key) === first)) {
      unconflicted.set(key, first);
      continue;
    }
    for (const set of stateSets) {
      const id = set.get(key);
      if (id !== undefined) conflicted.add(id);
    }
  }
  return { unconflicted, conflicted };
}

/** The sets without the events `drop` refuses (rejected events); the sets themselves when it drops none. */
export function withoutEvents(stateSets: readonly StateMap[], drop: (id: string) => boolean): StateMap[] {
  return stateSets.map((set) => {
    let kept: Map<StateKey, string> | undefined;
    for (const [key, id] of set) {
      if (!drop(id)) continue;
      kept ??= new Map(set);
      kept.delete(key);
    }
    return kept ?? set;
  });
}
