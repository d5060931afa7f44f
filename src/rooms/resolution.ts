import type { RoomEvent, StateMap, RoomVersionRules } from '../events/index.js';
import { missingEvents, resolveState } from '../state/index.js';
import type { RoomReads } from './ports.js';

/**
 * Resolves stored state sets. The core is pure and works over what it is given, so the events it needs
 * (the sets' events and their auth chains) are loaded first, in rounds, as missingEvents names them;
 * rejected events are passed as such and never end up in the result.
 */
export async function resolveStoredStates(reads: RoomReads, rules: RoomVersionRules, stateSets: readonly StateMap[]): Promise<StateMap> {
  const loaded = new Map<string, RoomEvent>();
  const rejected = new Set<string>();
  const unavailable = new Set<string>();
  const lookup = (id: string) => loaded.get(id);
  for (;;) {
    const missing = missingEvents(stateSets, lookup).filter((id) => !unavailable.has(id));
    if (missing.length === 0) break;
    const found = await reads.events(missing);
    for (const id of missing) {
      const stored = found.get(id);
      if (!stored) {
        // Not stored here: resolution works without it, as it would for an event it was never shown.
        unavailable.add(id);
        continue;
      }
      loaded.set(id, stored.event);
      if (stored.rejectedReason !== null) rejected.add(id);
    }
  }
  return resolveState({ rules, stateSets, events: lookup, rejected: (id) => rejected.has(id) });
}
