/**
 * The two orderings of state resolution v2 (rooms/fragments/v2-state-res.md): the reverse topological
 * power ordering of power events, and the mainline ordering of the rest.
 */
import { compareCodePoints } from '../crypto/index.js';
import type { RoomEvent } from '../events/index.js';
import type { ResolutionContext } from './context.js';
import { MinHeap } from './heap.js';

/**
 * Power events "might remove someone's ability to do something": power levels, join rules, and
 * kicks and bans (a leave or ban sent by someone other than the target). The create event counts too,
 * as in Synapse and ruma: everything depends on it, so it sorts first either way.
 */
export function isPowerEvent(event: RoomEvent): boolean {
  if (event.stateKey === undefined) return false;
  switch (event.type) {
    case 'm.room.power_levels':
    case 'm.room.join_rules':
    case 'm.room.create':
      return event.stateKey === '';
    case 'm.room.member': {
      const membership = event.content.membership;
      return (membership === 'leave' || membership === 'ban') && event.sender !== event.stateKey;
    }
    default:
      return false;
  }
}

function byTimestampThenId(a: RoomEvent, b: RoomEvent): number {
  return a.originServerTs - b.originServerTs || compareCodePoints(a.eventId, b.eventId);
}

/**
 * Step 1: the power events of the full conflicted set with the events of the set their auth chains go
 * through, sorted by Kahn's algorithm from earliest to latest, taking at each step the ready event whose
 * sender has the greatest power level, then the smallest origin_server_ts, then the smallest event id.
 *
 * Auth chains are followed through events of the full conflicted set only, with their direct auth_events
 * links as the DAG's edges, as Synapse and ruma do. The spec's wording ("the events in the auth chain of P
 * which also belong to the full conflicted set") would also take in a conflicted event reached only through
 * an event outside the set; we keep to what the deployed servers compute, so that rooms converge.
 */
export function reverseTopologicalPowerOrder(
  ctx: ResolutionContext,
  powerEvents: readonly RoomEvent[],
  fullConflicted: ReadonlySet<string>,
): RoomEvent[] {
  const nodes = new Map<string, RoomEvent>();
  const dependsOn = new Map<string, string[]>();
  const stack = [...powerEvents];
  while (stack.length > 0) {
    const event = stack.pop() as RoomEvent;
    if (nodes.has(event.eventId)) continue;
    nodes.set(event.eventId, event);
    const edges: string[] = [];
    for (const id of new Set(event.authEvents)) {
      if (!fullConflicted.has(id)) continue;
      const authEvent = ctx.usable(id);
      if (authEvent === undefined) continue;
      edges.push(id);
      if (!nodes.has(id)) stack.push(authEvent);
    }
    dependsOn.set(event.eventId, edges);
  }

  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [id, edges] of dependsOn) {
    waitingOn.set(id, edges.length);
    for (const authId of edges) {
      const list = dependents.get(authId);
      if (list === undefined) dependents.set(authId, [id]);
      else list.push(id);
    }
  }
  const power = (event: RoomEvent): number => ctx.senderPowerLevel(event);
  const ready = new MinHeap<RoomEvent>((a, b) => comparePower(power(b), power(a)) || byTimestampThenId(a, b));
  for (const [id, count] of waitingOn) if (count === 0) ready.push(nodes.get(id) as RoomEvent);

  const sorted: RoomEvent[] = [];
  for (let event = ready.pop(); event !== undefined; event = ready.pop()) {
    sorted.push(event);
    for (const dependent of dependents.get(event.eventId) ?? []) {
      const left = (waitingOn.get(dependent) ?? 0) - 1;
      waitingOn.set(dependent, left);
      if (left === 0) ready.push(nodes.get(dependent) as RoomEvent);
    }
  }
  // Events on an auth_events cycle (possible only with server-generated ids) never become ready: left out.
  return sorted;
}

/** Numeric order that treats two infinite levels (v12 creators) as equal. */
function comparePower(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * Step 3: order events by their mainline position against `powerLevels` (the resolved power levels
 * event), earliest position (greatest index, or none at all) first, then origin_server_ts, then event id.
 */
export function mainlineOrder(
  ctx: ResolutionContext,
  events: readonly RoomEvent[],
  powerLevels: RoomEvent | undefined,
): RoomEvent[] {
  const mainline = new Map<string, number>();
  for (let p = powerLevels, i = 0; p !== undefined && !mainline.has(p.eventId); p = ctx.powerLevelsAuthOf(p), i++) {
    mainline.set(p.eventId, i);
  }
  // For each power levels event walked, the mainline index of the first mainline event at or below it.
  const reached = new Map<string, number>();
  const positionFrom = (start: RoomEvent | undefined): number => {
    const path: string[] = [];
    const onPath = new Set<string>();
    let position = Infinity;
    for (let e = start; e !== undefined; e = ctx.powerLevelsAuthOf(e)) {
      const found = mainline.get(e.eventId) ?? reached.get(e.eventId);
      if (found !== undefined) {
        position = found;
        break;
      }
      if (onPath.has(e.eventId)) break;
      onPath.add(e.eventId);
      path.push(e.eventId);
    }
    for (const id of path) reached.set(id, position);
    return position;
  };
  const positions = new Map<string, number>();
  for (const event of events) positions.set(event.eventId, positionFrom(ctx.powerLevelsAuthOf(event)));
  const position = (event: RoomEvent): number => positions.get(event.eventId) ?? Infinity;
  return [...events].sort((a, b) => comparePower(position(b), position(a)) || byTimestampThenId(a, b));
}
