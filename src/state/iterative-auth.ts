/** The iterative auth checks of state resolution v2 (rooms/fragments/v2-state-res.md). */
import { checkAuth, stateKeyOf, type RoomEvent, type StateKey } from '../events/index.js';
import type { ResolutionContext } from './context.js';

/**
 * Applies each event in order to `state` (updated in place) if the auth rules allow it against the state
 * so far, keys that state lacks being taken from the event's own not-rejected auth events. Events the
 * rules refuse are skipped.
 */
export function iterativeAuthChecks(
  ctx: ResolutionContext,
  state: Map<StateKey, string>,
  events: readonly RoomEvent[],
): void {
  for (const event of events) {
    const key = stateKeyOf(event);
    if (key === undefined) continue;
    if (checkAuth(event, ctx.checkLookup(event, state), ctx.rules).allowed) state.set(key, event.eventId);
  }
}
