/**
 * State resolution v2 (room versions 2-11, rooms/fragments/v2-state-res.md) and v2.1 (room version 12,
 * rooms/v12.md): v2.1 adds the conflicted state subgraph to the full conflicted set and starts the first
 * iterative auth checks from an empty state instead of the unconflicted state map.
 */
import { stateKey, type RoomEvent, type StateKey, type StateMap } from '../events/index.js';
import { authDifference, conflictedSubgraph } from './auth-chain.js';
import { createContext, type ResolutionInput } from './context.js';
import { iterativeAuthChecks } from './iterative-auth.js';
import { isPowerEvent, mainlineOrder, reverseTopologicalPowerOrder } from './ordering.js';
import { splitConflicts, withoutEvents } from './split.js';

const POWER_LEVELS_KEY = stateKey('m.room.power_levels', '');

export function resolveV2(input: ResolutionInput, amended: boolean): StateMap {
  const ctx = createContext(input);
  const stateSets = input.rejected === undefined ? input.stateSets : withoutEvents(input.stateSets, input.rejected);
  const { unconflicted, conflicted } = splitConflicts(stateSets);
  if (conflicted.size === 0) return unconflicted;

  const fullConflicted = new Set<string>();
  const candidates = [conflicted, authDifference(stateSets, ctx.events)];
  if (amended) candidates.push(conflictedSubgraph(conflicted, ctx.events));
  for (const ids of candidates) for (const id of ids) if (ctx.usable(id) !== undefined) fullConflicted.add(id);
  const events = [...fullConflicted].map((id) => ctx.usable(id) as RoomEvent);

  // Steps 1-2: power events (and the conflicted events they rest on) in topological order.
  const powerOrdered = reverseTopologicalPowerOrder(ctx, events.filter(isPowerEvent), fullConflicted);
  const partial: Map<StateKey, string> = amended ? new Map() : new Map(unconflicted);
  iterativeAuthChecks(ctx, partial, powerOrdered);

  // Steps 3-4: everything else, in mainline order of the power levels resolved so far.
  const picked = new Set(powerOrdered.map((event) => event.eventId));
  const rest = events.filter((event) => !picked.has(event.eventId));
  const powerLevelsId = partial.get(POWER_LEVELS_KEY);
  const powerLevels = powerLevelsId === undefined ? undefined : ctx.usable(powerLevelsId);
  iterativeAuthChecks(ctx, partial, mainlineOrder(ctx, rest, powerLevels));

  // Step 5: the unconflicted state map has the last word.
  for (const [key, id] of unconflicted) partial.set(key, id);
  return partial;
}
