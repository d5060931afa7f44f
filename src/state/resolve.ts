/** Room state resolution: the algorithm the room version names, over prefetched events. */
import type { StateMap } from '../events/index.js';
import type { ResolutionInput } from './context.js';
import { resolveV1 } from './v1.js';
import { resolveV2 } from './v2.js';

/**
 * The resolved state of `stateSets` (maps of (type, state_key) to event id). Pure: every event the
 * algorithm reads comes from `events`; call missingEvents first and fetch what it lists. Rejected events
 * (per `rejected`) are never in the result.
 */
export function resolveState(input: ResolutionInput): StateMap {
  if (input.stateSets.length === 0) return new Map();
  switch (input.rules.stateResolution) {
    case 'v1':
      return resolveV1(input);
    case 'v2':
      return resolveV2(input, false);
    case 'v2.1':
      return resolveV2(input, true);
  }
}
