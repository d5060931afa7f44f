/**
 * Auth chains (server-server-api.md, rooms/fragments/v2-state-res.md "Auth chain"): the events reachable
 * from an event through auth_events links. Walks are iterative with an explicit stack, since a room's
 * auth chain can be tens of thousands of events deep.
 */
import type { RoomEvent, StateMap } from '../events/index.js';

/** Finds an event by id among what the caller has prefetched; undefined when it is not at hand. */
export type EventLookup = (eventId: string) => RoomEvent | undefined;

/**
 * The union of the auth chains of `eventIds`: every event reachable through one or more auth_events
 * links. A start event is in the result only if another start event reaches it. Walks stop at events the
 * lookup does not have, and below events `stopAt` picks, whose own auth chains the caller already holds.
 */
export function authChain(
  eventIds: Iterable<string>,
  lookup: EventLookup,
  stopAt: (eventId: string) => boolean = () => false,
): Set<string> {
  const chain = new Set<string>();
  const stack: string[] = [];
  for (const id of eventIds) {
    const event = lookup(id);
    if (event !== undefined) stack.push(...event.authEvents);
  }
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (chain.has(id)) continue;
    chain.add(id);
    if (stopAt(id)) continue;
    const event = lookup(id);
    if (event === undefined) continue;
    for (const authId of event.authEvents) if (!chain.has(authId)) stack.push(authId);
  }
  return chain;
}

/**
 * The auth difference of several state sets: every event in the full auth chain of some set but not of
 * all of them (∪Cᵢ − ∩Cᵢ). Cᵢ counts the set's own events as well as their auth chains, as Synapse does
 * (its walk starts by marking each state event reachable from the sets that hold it): an event every set
 * holds is then never in the difference, even when only some sets' other events cite it.
 *
 * An event in every set puts itself and its auth chain in every Cᵢ, so that chain is walked once and each
 * set's own walk stops where it joins it.
 */
export function authDifference(stateSets: readonly StateMap[], lookup: EventLookup): Set<string> {
  const difference = new Set<string>();
  if (stateSets.length < 2) return difference;
  const common = eventsInEverySet(stateSets);
  const commonChain = authChain(common, lookup);
  const shared = (id: string): boolean => common.has(id) || commonChain.has(id);
  const chains = stateSets.map((set) => {
    const own: string[] = [];
    for (const id of set.values()) if (!common.has(id)) own.push(id);
    const chain = authChain(own, lookup, shared);
    for (const id of own) chain.add(id);
    return chain;
  });
  for (const chain of chains) {
    for (const id of chain) {
      if (difference.has(id) || shared(id)) continue;
      if (!chains.every((other) => other.has(id))) difference.add(id);
    }
  }
  return difference;
}

function eventsInEverySet(stateSets: readonly StateMap[]): Set<string> {
  const [first, ...rest] = stateSets;
  const common = new Set<string>();
  if (first === undefined) return common;
  const others = rest.map((set) => new Set(set.values()));
  for (const id of first.values()) if (others.every((set) => set.has(id))) common.add(id);
  return common;
}

/**
 * The events resolution would need that the lookup does not have: ids in the state sets, and ids in the
 * auth chains of the events it does have. A service fetches these and asks again until the answer is
 * empty; each round reaches one step further down the chains it could not walk before. Sorted, so that
 * the answer does not depend on map order.
 */
export function missingEvents(stateSets: readonly StateMap[], lookup: EventLookup): string[] {
  const seen = new Set<string>();
  const missing: string[] = [];
  const stack: string[] = [];
  for (const set of stateSets) for (const id of set.values()) stack.push(id);
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const event = lookup(id);
    if (event === undefined) {
      missing.push(id);
      continue;
    }
    for (const authId of event.authEvents) if (!seen.has(authId)) stack.push(authId);
  }
  return missing.sort();
}

/**
 * The conflicted state subgraph (rooms/v12.md): the events on some auth_events path from one conflicted
 * event to another, endpoints included. An event is on such a path when a conflicted event reaches it
 * and it reaches a conflicted event (or is one). Computed with one walk down from the conflicted events
 * and one iterative post-order pass that marks which events reach a conflicted event.
 */
export function conflictedSubgraph(conflicted: ReadonlySet<string>, lookup: EventLookup): Set<string> {
  const below = authChain(conflicted, lookup);
  // reaches: for each finished event, whether it is conflicted or leads to a conflicted event. `entered`
  // guards against auth_events cycles, which hash ids rule out but server-generated ids (v1-2) do not.
  const reaches = new Map<string, boolean>();
  const entered = new Set<string>();
  const stack: Array<{ id: string; expanded: boolean }> = [];
  for (const start of below) {
    stack.push({ id: start, expanded: false });
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: string; expanded: boolean };
      if (reaches.has(top.id) || (!top.expanded && entered.has(top.id))) {
        stack.pop();
        continue;
      }
      const authIds = lookup(top.id)?.authEvents ?? [];
      if (!top.expanded) {
        top.expanded = true;
        entered.add(top.id);
        for (const authId of authIds) if (!entered.has(authId)) stack.push({ id: authId, expanded: false });
        continue;
      }
      stack.pop();
      reaches.set(top.id, conflicted.has(top.id) || authIds.some((authId) => reaches.get(authId) === true));
    }
  }
  const subgraph = new Set<string>();
  for (const id of conflicted) {
    const event = lookup(id);
    if (event !== undefined && (below.has(id) || event.authEvents.some((a) => reaches.get(a) === true))) {
      subgraph.add(id);
    }
  }
  for (const id of below) if (reaches.get(id) === true) subgraph.add(id);
  return subgraph;
}
