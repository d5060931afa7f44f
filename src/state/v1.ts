/**
 * State resolution v1 (room version 1, rooms/v1.md). Known to reset state; kept for rooms that still
 * use version 1. Each pass resolves its keys against the state as the previous passes left it.
 */
import { createHash } from 'node:crypto';
import {
  checkAuth,
  stateKey,
  type AuthStateLookup,
  type RoomEvent,
  type StateKey,
  type StateMap,
} from '../events/index.js';
import { createContext, type ResolutionContext, type ResolutionInput } from './context.js';
import { withoutEvents } from './split.js';

type Conflicts = Map<StateKey, RoomEvent[]>;

export function resolveV1(input: ResolutionInput): StateMap {
  const ctx = createContext(input);
  const stateSets = input.rejected === undefined ? input.stateSets : withoutEvents(input.stateSets, input.rejected);
  // R starts as the union of the sets without the conflicting keys. A key that only some sets hold is not
  // a conflict here ("different event_ids for the same key"), unlike v2.
  const resolved = new Map<StateKey, string>();
  const conflicts: Conflicts = new Map();
  const keys = new Set<StateKey>();
  for (const set of stateSets) for (const key of set.keys()) keys.add(key);
  for (const key of keys) {
    const ids = new Set<string>();
    for (const set of stateSets) {
      const id = set.get(key);
      if (id !== undefined) ids.add(id);
    }
    const [only] = ids;
    if (ids.size === 1 && only !== undefined) {
      resolved.set(key, only);
      continue;
    }
    // Conflicting events we do not have cannot be checked; Synapse leaves them out too.
    const events = [...ids].map((id) => ctx.usable(id)).filter((event) => event !== undefined);
    const [single] = events;
    if (events.length === 1 && single !== undefined) resolved.set(key, single.eventId);
    else if (events.length > 1) conflicts.set(key, events);
  }
  if (conflicts.size === 0) return resolved;

  const sha1 = memoSha1();
  authPass(ctx, resolved, conflicts, sha1, (key) => key === POWER_LEVELS);
  authPass(ctx, resolved, conflicts, sha1, (_, e) => e.type === 'm.room.join_rules');
  authPass(ctx, resolved, conflicts, sha1, (_, e) => e.type === 'm.room.member');

  // Every other conflict: the deepest event (then lowest sha1) that the rules allow in R.
  const settled = new Map<StateKey, string>();
  for (const [key, events] of conflicts) {
    const ordered = [...events].sort((a, b) => b.depth - a.depth || compareHex(sha1(a), sha1(b)));
    const allowed = ordered.find((event) => checkAuth(event, lookupIn(ctx, resolved), ctx.rules).allowed);
    // The spec says nothing of a key where every event fails; Synapse keeps the last (shallowest) one.
    const chosen = allowed ?? ordered[ordered.length - 1];
    if (chosen !== undefined) settled.set(key, chosen.eventId);
  }
  for (const [key, id] of settled) resolved.set(key, id);
  return resolved;
}

const POWER_LEVELS = stateKey('m.room.power_levels', '');

/**
 * One pass over the conflicts of auth events: per key, the events by ascending depth then descending
 * sha1(event_id); the first goes in, each next one only while the rules allow it in R, stopping at the
 * first refusal. Keys of one pass are resolved against R as the pass found it (key order must not matter),
 * then R takes all their results; the pass's keys leave `conflicts`.
 */
function authPass(
  ctx: ResolutionContext,
  resolved: Map<StateKey, string>,
  conflicts: Conflicts,
  sha1: (event: RoomEvent) => string,
  belongs: (key: StateKey, event: RoomEvent) => boolean,
): void {
  const results = new Map<StateKey, string>();
  for (const [key, events] of conflicts) {
    const [sample] = events;
    if (sample === undefined || !belongs(key, sample)) continue;
    const ordered = [...events].sort((a, b) => a.depth - b.depth || compareHex(sha1(b), sha1(a)));
    const [first, ...others] = ordered;
    if (first === undefined) continue;
    // R with this key's progress laid over it, without copying R for every key.
    let current = first.eventId;
    const state: AuthStateLookup = (type, stateKeyPart) => {
      const k = stateKey(type, stateKeyPart);
      const id = k === key ? current : resolved.get(k);
      return id === undefined ? undefined : ctx.usable(id);
    };
    for (const event of others) {
      if (!checkAuth(event, state, ctx.rules).allowed) break;
      current = event.eventId;
    }
    results.set(key, current);
  }
  for (const [key, id] of results) {
    resolved.set(key, id);
    conflicts.delete(key);
  }
}

/** v1 checks against R alone: it has no fallback to the event's auth events. */
function lookupIn(ctx: ResolutionContext, state: ReadonlyMap<StateKey, string>): AuthStateLookup {
  return (type, key) => {
    const id = state.get(stateKey(type, key));
    return id === undefined ? undefined : ctx.usable(id);
  };
}

function memoSha1(): (event: RoomEvent) => string {
  const cache = new Map<string, string>();
  return (event) => {
    let digest = cache.get(event.eventId);
    if (digest === undefined) {
      digest = createHash('sha1').update(event.eventId, 'utf8').digest('hex');
      cache.set(event.eventId, digest);
    }
    return digest;
  };
}

function compareHex(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
