import type postgres from 'postgres';
import { parseStateKey, stateKey, type StateKey, type StateMap } from '../events/index.js';
import { StorageError } from './errors.js';

/**
 * State groups (migrations/0002_rooms.sql): a group is its parent's state plus a delta, or a snapshot. A
 * delta chain never passes MAX_DELTA_CHAIN groups, so rebuilding any state reads at most that many deltas
 * and one snapshot; a room pays one full copy of its state per MAX_DELTA_CHAIN state changes.
 */
export const MAX_DELTA_CHAIN = 100;

/** Either outside or inside a transaction: the repositories take whichever they are given. */
export type Query = postgres.Sql | postgres.TransactionSql;

/** A group and how many deltas separate it from its snapshot. Negative ids are groups not written yet. */
export interface GroupRef {
  readonly id: number;
  readonly chain: number;
}

/** A delta: null removes the key from the parent's state. */
type Delta = Map<StateKey, string | null>;

/**
 * Full states by group id, least recently used first out, bounded by the total number of entries held.
 * Groups never change once written and their ids are never reused (even a rolled-back group's id is
 * burnt), so an entry can never go stale, across transactions and processes alike.
 */
export class StateCache {
  private readonly states = new Map<number, StateMap>();
  private entries = 0;
  /** Chain lengths of groups seen, so that deriving from a group needs no query for it. */
  private readonly chains = new Map<number, number>();

  constructor(private readonly maxEntries: number) {}

  chainOf(group: number): number | undefined {
    return this.chains.get(group);
  }

  setChain(group: number, chain: number): void {
    // Plain bound: dropping everything costs one small query per group next time.
    if (this.chains.size >= 100_000) this.chains.clear();
    this.chains.set(group, chain);
  }

  get(group: number): StateMap | undefined {
    const state = this.states.get(group);
    if (state !== undefined) {
      this.states.delete(group);
      this.states.set(group, state);
    }
    return state;
  }

  has(group: number): boolean {
    return this.states.has(group);
  }

  set(group: number, state: StateMap): void {
    if (state.size > this.maxEntries || this.states.has(group)) return;
    this.states.set(group, state);
    this.entries += state.size;
    for (const [oldest, old] of this.states) {
      if (this.entries <= this.maxEntries) break;
      this.states.delete(oldest);
      this.entries -= old.size;
    }
  }
}

/** The full state of a stored group: its chain up to the nearest cached group or snapshot, then the deltas. */
export async function loadGroupState(q: Query, cache: StateCache, group: number): Promise<StateMap> {
  const cached = cache.get(group);
  if (cached !== undefined) return cached;
  const chain = await q<{ state_group: number }[]>`
    with recursive chain (state_group, parent_group, distance) as (
      select state_group, parent_group, 0 from state_groups where state_group = ${group}
      union all
      select g.state_group, g.parent_group, c.distance + 1
      from state_groups g join chain c on g.state_group = c.parent_group
    )
    select state_group from chain order by distance`;
  if (chain.length === 0) throw new StorageError(`state group ${group} does not exist`);
  let state = new Map<StateKey, string>();
  let wanted = chain.length;
  for (let i = 1; i < chain.length; i++) {
    const ancestor = cache.get(chain[i]!.state_group);
    if (ancestor !== undefined) {
      state = new Map(ancestor);
      wanted = i;
      break;
    }
  }
  const ids = chain.slice(0, wanted).map((row) => row.state_group);
  const rows = await q<{ state_group: number; type: string; state_key: string; event_id: string | null }[]>`
    select state_group, type, state_key, event_id from state_group_entries where state_group = any(${ids}::int8[])`;
  const deltas = new Map<number, Delta>(ids.map((id) => [id, new Map()]));
  for (const row of rows) deltas.get(row.state_group)?.set(stateKey(row.type, row.state_key), row.event_id);
  // Oldest (the snapshot, or the child of the cached ancestor) first.
  for (let i = ids.length - 1; i >= 0; i--) applyDelta(state, deltas.get(ids[i]!)!);
  cache.set(group, state);
  return state;
}

function applyDelta(state: Map<StateKey, string>, delta: ReadonlyMap<StateKey, string | null>): void {
  for (const [key, eventId] of delta) {
    if (eventId === null) state.delete(key);
    else state.set(key, eventId);
  }
}

interface PendingGroup {
  readonly parent: number | null;
  readonly chain: number;
  /** The delta against the parent, or the whole state for a snapshot. */
  readonly entries: ReadonlyMap<StateKey, string | null>;
  /** The full state once computed. */
  full: StateMap | undefined;
}

/**
 * Builds the groups of one persistEvents call in memory and writes them in two statements at the end, so a
 * batch of events costs a constant number of round trips for its state, not one per state event.
 */
export function createGroupWriter(q: Query, cache: StateCache, roomId: string) {
  const pending = new Map<number, PendingGroup>();

  function add(parent: GroupRef | null, entries: ReadonlyMap<StateKey, string | null>, full?: StateMap): GroupRef {
    const id = -(pending.size + 1);
    const chain = parent === null ? 0 : parent.chain + 1;
    pending.set(id, { parent: parent?.id ?? null, chain, entries, full });
    return { id, chain };
  }

  async function full(group: number): Promise<StateMap> {
    if (group > 0) return loadGroupState(q, cache, group);
    const wanted: PendingGroup[] = [];
    let base: StateMap | undefined;
    for (let id: number | null = group; id !== null; ) {
      if (id > 0) {
        base = await loadGroupState(q, cache, id);
        break;
      }
      const node: PendingGroup | undefined = pending.get(id);
      if (node === undefined) throw new Error(`unknown pending state group ${id}`);
      if (node.full !== undefined) {
        base = node.full;
        break;
      }
      wanted.push(node);
      id = node.parent;
    }
    const state = new Map(base);
    for (let i = wanted.length - 1; i >= 0; i--) applyDelta(state, wanted[i]!.entries);
    pending.get(group)!.full = state;
    return state;
  }

  function snapshot(state: StateMap): GroupRef {
    return add(null, state, state);
  }

  function write(resolve: (id: number) => number): Array<Promise<unknown>> {
    const groups = { id: [] as number[], parent: [] as (number | null)[], chain: [] as number[] };
    const entries = { group: [] as number[], type: [] as string[], key: [] as string[], event: [] as (string | null)[] };
    for (const [temp, group] of pending) {
      const id = resolve(temp);
      groups.id.push(id);
      groups.parent.push(group.parent === null ? null : resolve(group.parent));
      groups.chain.push(group.chain);
      cache.setChain(id, group.chain);
      for (const [key, eventId] of group.entries) {
        const [type, stateKeyValue] = parseStateKey(key);
        entries.group.push(id);
        entries.type.push(type);
        entries.key.push(stateKeyValue);
        entries.event.push(eventId);
      }
      if (group.full !== undefined) cache.set(id, group.full);
    }
    pending.clear();
    // One statement: the entries' foreign key is checked at its end, after the groups are in.
    const statements: Array<Promise<unknown>> = [
      q`
        with groups as (
          insert into state_groups (state_group, room_id, parent_group, chain_length)
          select id, ${roomId}, parent, chain
          from unnest(${q.array(groups.id)}::int8[], ${q.array(groups.parent)}::int8[], ${q.array(groups.chain)}::int4[])
            as g (id, parent, chain)
        )
        insert into state_group_entries (state_group, type, state_key, event_id)
        select * from unnest(${q.array(entries.group)}::int8[], ${q.array(entries.type)}::text[],
          ${q.array(entries.key)}::text[], ${q.array(entries.event)}::text[])`,
    ];
    return statements;
  }

  /** The event at `key` in a group's state (pending or stored), walking deltas rather than building the whole map. */
  async function lookup(group: GroupRef, key: StateKey): Promise<string | undefined> {
    for (let id: number | null = group.id; id !== null; ) {
      if (id > 0) return (await loadGroupState(q, cache, id)).get(key);
      const node: PendingGroup | undefined = pending.get(id);
      if (node === undefined) throw new Error(`unknown pending state group ${id}`);
      if (node.full !== undefined) return node.full.get(key);
      if (node.entries.has(key)) return node.entries.get(key) ?? undefined;
      id = node.parent;
    }
    return undefined;
  }

  return {
    full,
    lookup,

    /** base + changes; base itself when nothing changes; a snapshot when the chain would grow too long. */
    async derive(base: GroupRef, changes: StateMap): Promise<GroupRef> {
      if (changes.size === 0) return base;
      if (base.chain + 1 > MAX_DELTA_CHAIN) {
        const state = new Map(await full(base.id));
        applyDelta(state, changes);
        return snapshot(state);
      }
      return add(base, changes);
    },

    /**
     * A group holding exactly `state`, as a delta against whichever candidate is closest (deletions
     * included), or a snapshot when no candidate is close enough.
     */
    async fromFull(candidates: readonly GroupRef[], state: StateMap): Promise<GroupRef> {
      let best: { base: GroupRef; delta: Delta } | undefined;
      for (const candidate of candidates) {
        const delta = diff(await full(candidate.id), state);
        if (delta.size === 0) return candidate;
        if (best === undefined || delta.size < best.delta.size) best = { base: candidate, delta };
      }
      if (best === undefined || best.base.chain + 1 > MAX_DELTA_CHAIN || best.delta.size >= state.size) {
        return snapshot(new Map(state));
      }
      return add(best.base, best.delta, new Map(state));
    },

    /** How many stored ids the pending groups need. */
    pendingCount: () => pending.size,

    /**
     * Given stored ids for the pending groups (ascending), returns how to turn a GroupRef id into a stored id
     * and the statement that writes the groups (for the caller to pipeline with its own).
     */
    assign(ids: readonly number[]): { resolve: (id: number) => number; writes: () => Array<Promise<unknown>> } {
      if (ids.length !== pending.size) throw new Error(`${pending.size} state groups to write, ${ids.length} ids`);
      const resolve = (id: number): number => (id > 0 ? id : ids[-id - 1]!);
      return { resolve, writes: () => (pending.size === 0 ? [] : write(resolve)) };
    },
  };
}

/** What turns `from` into `to`: changed and added entries, and null for removed keys. */
function diff(from: StateMap, to: StateMap): Delta {
  const delta: Delta = new Map();
  for (const [key, eventId] of to) if (from.get(key) !== eventId) delta.set(key, eventId);
  for (const key of from.keys()) if (!to.has(key)) delta.set(key, null);
  return delta;
}
