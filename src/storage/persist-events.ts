import { stateKey, type StateKey, type StateMap } from '../events/index.js';
import type { NewEvent } from '../rooms/index.js';
import { clampToSafe, textArrayLiteral } from './event-rows.js';
import { StorageError } from './errors.js';
import { ADVISORY_LOCK_NAMESPACE, EVENTS_STREAM_LOCK_ID } from './migrate.js';
import { createGroupWriter, type GroupRef, type Query, type StateCache } from './state-groups.js';

export interface PersistHooks {
  /** Hears each outlier moved onto the timeline (its cached copies are stale once the transaction commits). */
  readonly moved?: (eventId: string) => void;
  /** Hears the state groups before and after each event stored with them (what the caller may remember once committed). */
  readonly stored?: (eventId: string, before: number, after: number) => void;
  /** Sends the transaction's COMMIT: given, it goes out with the last statements (see PersistOptions.last). */
  readonly commit?: () => Promise<unknown>;
  /** The events were built here just now (PersistOptions.fresh): none can be stored already. */
  readonly fresh?: boolean;
  /** The state groups of an event stored before, when the process remembers them (no statement needed). */
  readonly groupsOf?: (eventId: string) => { readonly before: number; readonly after: number } | undefined;
}

/** What persisting needs to know about an event already stored: its position and its state groups. */
interface KnownEvent {
  readonly position: number | null;
  /** Stored as an outlier and not rejected: a backfilled copy may move it onto the timeline. */
  readonly movable: boolean;
  readonly before: GroupRef | null;
  readonly after: GroupRef | null;
}

/** How many forward extremities' states a `full` state input is compared against to find a close parent. */
const MAX_PARENT_CANDIDATES = 5;

/**
 * Event JSON per insert statement, at most (one event larger than this goes alone). The embedded engine's
 * socket server gathers a message by copying all it has at each chunk that arrives, so its cost grows with
 * the square of a statement's size: a joined room's 10,000 state events in one statement took seconds.
 */
const MAX_STATEMENT_JSON_CHARS = 1 << 20;

/**
 * persistEvents (src/rooms/ports.ts) inside the caller's transaction: state groups first, then the events and
 * their edges, each kind in one statement whatever the batch size.
 *
 * Stream positions are gap-safe by ordering commits: positions are drawn only after taking the events-stream
 * advisory lock, which is held until this transaction commits. So transactions commit in the order of their
 * positions, and a reader that sees position p can never later see a new event below p (sync would skip it).
 * A rolled-back transaction leaves a hole that is never filled, which is harmless. The price: between
 * drawing positions and committing, event writers of all rooms take turns.
 *
 * Backfilled events come with their own (negative) positions and draw none. One already stored as an
 * outlier is moved onto the timeline: its row gets the position and the state groups; `moved` hears its
 * id, so the caller can drop cached copies once the transaction commits.
 */
export async function persistEvents(
  q: Query,
  cache: StateCache,
  roomId: string,
  events: readonly NewEvent[],
  hooks: PersistHooks = {},
): Promise<Array<number | null>> {
  const { commit } = hooks;
  if (events.length === 0) {
    await commit?.();
    return [];
  }
  for (const { event } of events) {
    if (event.roomId !== roomId) throw new Error(`event ${event.eventId} belongs to ${event.roomId}, not ${roomId}`);
  }

  const wanted = new Set<string>();
  for (const { event, stateBefore } of events) {
    wanted.add(event.eventId);
    if (stateBefore !== null && stateBefore.kind !== 'full') wanted.add(stateBefore.eventId);
  }
  const known = (hooks.fresh === true ? rememberedEvents(cache, events, hooks.groupsOf) : undefined) ?? (await knownEvents(q, cache, roomId, [...wanted]));

  const groups = createGroupWriter(q, cache, roomId);
  let candidates: GroupRef[] | undefined;
  let lastAfter: GroupRef | undefined;

  const rows: Array<{ input: NewEvent; before: GroupRef | null; after: GroupRef | null; replaces: string | null; positioned: boolean; move: boolean }> = [];
  // Per input: the position of an event stored before, or the index of the row that stores it now.
  const outcome: Array<{ readonly position: number | null } | { readonly row: number }> = [];
  const fresh = new Map<string, { row: number; before: GroupRef | null; after: GroupRef | null }>();

  for (const input of events) {
    const { event } = input;
    const existing = known.get(event.eventId);
    const move = existing !== undefined && existing.movable && input.backfillPosition !== undefined && !input.outlier && input.rejectedReason === null;
    if (existing !== undefined && !move) {
      outcome.push({ position: existing.position });
      continue;
    }
    const repeated = fresh.get(event.eventId);
    if (repeated !== undefined) {
      outcome.push({ row: repeated.row });
      continue;
    }

    let before: GroupRef | null = null;
    let after: GroupRef | null = null;
    let replaces: string | null = null;
    if (!input.outlier) {
      const given = input.stateBefore;
      if (given === null) throw new Error(`event ${event.eventId} is not an outlier but comes with no state before it`);
      if (given.kind === 'full') {
        candidates ??= await extremityGroups(q, roomId);
        const tried = lastAfter === undefined ? candidates : [lastAfter, ...candidates.filter((c) => c.id !== lastAfter!.id)];
        before = await groups.fromFull(tried.slice(0, MAX_PARENT_CANDIDATES), given.state);
      } else {
        const reference = fresh.get(given.eventId) ?? known.get(given.eventId);
        const base = given.kind === 'after-event' ? reference?.after : reference?.before;
        if (base === undefined || base === null) {
          throw new Error(`the state ${given.kind === 'after-event' ? 'after' : 'before'} ${given.eventId} is not stored`);
        }
        before = await groups.derive(base, given.changes);
      }
      const key = input.rejectedReason === null ? stateKeyOfEvent(event) : undefined;
      if (key !== undefined) replaces = (await groups.lookup(before, key)) ?? null;
      after = key === undefined ? before : await groups.derive(before, new Map([[key, event.eventId]]) as StateMap);
      lastAfter = after;
    }
    const positioned = !input.outlier && input.rejectedReason === null;
    fresh.set(event.eventId, { row: rows.length, before, after });
    outcome.push({ row: rows.length });
    rows.push({ input, before, after, replaces, positioned, move });
  }
  if (rows.length === 0) {
    await commit?.();
    return outcome.map((o) => ('position' in o ? o.position : null));
  }

  const drawn = rows.filter((row) => row.positioned && row.input.backfillPosition === undefined).length;
  // Positions are drawn by the insert itself, under the events-stream lock it takes first, unless outliers
  // move onto the timeline (their update draws too, and positions must follow the batch's order across
  // both): the lock is then held from that statement to the commit, not for a round trip more.
  const fused = drawn > 0 && !rows.some((row) => row.move);
  const { positions, groupIds } = fused ? { positions: [], groupIds: await drawGroupIds(q, groups.pendingCount()) } : await drawIds(q, drawn, groups.pendingCount());
  const { resolve: resolveGroup, writes: groupWrites } = groups.assign(groupIds);

  const c: EventColumns = {
    id: [], type: [], stateKey: [], sender: [], depth: [], ts: [], redacts: [], prev: [], auth: [], json: [],
    outlier: [], rejected: [], softFailed: [], position: [], draw: [], before: [], after: [], replaces: [],
  };
  const edges = { prev: [] as string[], event: [] as string[] };
  // Where each statement's rows end (exclusive), and its edges with them.
  const statementEnds: Array<{ row: number; edge: number }> = [];
  let statementChars = 0;
  const positionOfRow: Array<number | null> = [];
  const moves = { id: [] as string[], position: [] as number[], before: [] as number[], after: [] as number[], replaces: [] as (string | null)[] };
  const searchable: SearchRow[] = [];
  let nextPosition = 0;
  for (const { input, before, after, replaces, positioned, move } of rows) {
    const { event } = input;
    if (positioned && SEARCHABLE_TYPES.has(event.type)) searchable.push({ id: event.eventId, type: event.type, content: JSON.stringify({ content: event.content }) });
    const draw = fused && positioned && input.backfillPosition === undefined;
    // A position the insert draws is learnt from its answer (below).
    const position = positioned && !draw ? (input.backfillPosition ?? positions[nextPosition++]!) : null;
    positionOfRow.push(position);
    if (move) {
      moves.id.push(event.eventId);
      moves.position.push(position!);
      moves.before.push(resolveGroup(before!.id));
      moves.after.push(resolveGroup(after!.id));
      moves.replaces.push(replaces);
      continue;
    }
    c.id.push(event.eventId);
    c.type.push(event.type);
    c.stateKey.push(event.stateKey ?? null);
    c.sender.push(event.sender);
    c.depth.push(clampToSafe(event.depth));
    c.ts.push(clampToSafe(event.originServerTs));
    c.redacts.push(event.redacts ?? null);
    c.prev.push(textArrayLiteral(event.prevEvents));
    c.auth.push(textArrayLiteral(event.authEvents));
    // The wire JSON as the checked view holds it; never rebuilt from the typed fields.
    const json = JSON.stringify(event.pdu);
    if (statementChars > 0 && statementChars + json.length > MAX_STATEMENT_JSON_CHARS) {
      statementEnds.push({ row: c.id.length - 1, edge: edges.prev.length });
      statementChars = 0;
    }
    statementChars += json.length;
    c.json.push(json);
    c.outlier.push(input.outlier);
    c.rejected.push(input.rejectedReason);
    c.softFailed.push(input.softFailed);
    c.position.push(position);
    c.draw.push(draw);
    c.before.push(before === null ? null : resolveGroup(before.id));
    c.after.push(after === null ? null : resolveGroup(after.id));
    c.replaces.push(replaces);
    for (const prev of event.prevEvents) {
      edges.prev.push(prev);
      edges.event.push(event.eventId);
    }
  }

  statementEnds.push({ row: c.id.length, edge: edges.prev.length });

  // A statement for the events and their edges per slice of rows; pipelined after the groups' (the events name them).
  const insertEvents = c.id.length === 0 ? [] : statementEnds.map((end, i) => {
    const start = i === 0 ? { row: 0, edge: 0 } : statementEnds[i - 1]!;
    return insertEventRows(q, roomId, sliceColumns(c, start.row, end.row), {
      prev: edges.prev.slice(start.edge, end.edge),
      event: edges.event.slice(start.edge, end.edge),
    });
  });
  const moveOutliers = moves.id.length === 0 ? [] : [q`
    update events e set outlier = false, stream_position = m.position, state_before = m.before, state_after = m.after,
      replaces_state = m.replaces
    from unnest(${q.array(moves.id)}::text[], ${q.array(moves.position)}::int8[], ${q.array(moves.before)}::int8[],
      ${q.array(moves.after)}::int8[], ${q.array(moves.replaces)}::text[]) as m (id, position, before, after, replaces)
    where e.event_id = m.id and e.outlier and e.rejected_reason is null`];
  // In this order on the connection: the search rows first, before the events' insert takes the events-stream
  // lock (when it takes it: see `fused`); the commit, if it is sent here, after everything else.
  const indexed = Promise.all(searchRows(q, searchable));
  const [, inserted] = await Promise.all([indexed, Promise.all(insertEvents), ...groupWrites(), ...moveOutliers, ...(commit ? [commit()] : [])]);
  for (const id of moves.id) hooks.moved?.(id);
  if (hooks.stored) {
    for (const { input, before, after } of rows) {
      if (before !== null && after !== null) hooks.stored(input.event.eventId, resolveGroup(before.id), resolveGroup(after.id));
    }
  }
  if (fused) {
    const drawnPositions = new Map<string, number>();
    for (const rowsOfStatement of inserted) for (const row of rowsOfStatement) if (row.stream_position !== null) drawnPositions.set(row.event_id, row.stream_position);
    rows.forEach(({ input }, i) => {
      if (positionOfRow[i] === null) positionOfRow[i] = drawnPositions.get(input.event.eventId) ?? null;
    });
  }

  return outcome.map((o) => ('position' in o ? o.position : (positionOfRow[o.row] ?? null)));
}

/** Rows of the events table, a column per array. */
interface EventColumns {
  id: string[]; type: string[]; stateKey: (string | null)[]; sender: string[]; depth: number[]; ts: number[];
  redacts: (string | null)[]; prev: string[]; auth: string[]; json: string[]; outlier: boolean[];
  rejected: (string | null)[]; softFailed: boolean[]; position: (number | null)[];
  /** The insert draws the row's position (position is null then). */
  draw: boolean[];
  before: (number | null)[]; after: (number | null)[];
  /** The state event this one replaced (events.replaces_state). */
  replaces: (string | null)[];
}

function sliceColumns(columns: EventColumns, start: number, end: number): EventColumns {
  return Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, (values as unknown[]).slice(start, end)])) as unknown as EventColumns;
}

/**
 * Inserts events and their prev edges in one statement; answers each event's position. Rows marked `draw`
 * get the next events-stream positions, in the rows' order (the function scan feeds them in array order),
 * after the statement has taken the events-stream lock: the uncorrelated condition is a one-time filter,
 * evaluated before the first row.
 */
function insertEventRows(q: Query, roomId: string, c: EventColumns, edges: { prev: string[]; event: string[] }) {
  const lock = c.draw.includes(true)
    ? q`where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${EVENTS_STREAM_LOCK_ID}))`
    : q``;
  return q<{ event_id: string; stream_position: number | null }[]>`
    with inserted as (
      insert into events (event_id, room_id, type, state_key, sender, depth, origin_server_ts, redacts, prev_events,
        auth_events, json, outlier, rejected_reason, soft_failed, stream_position, state_before, state_after, replaces_state)
      select id, ${roomId}, type, state_key, sender, depth, ts, redacts, prev::text[], auth::text[], json, outlier,
      rejected, soft_failed, case when draw then nextval('events_stream_seq') else position end, before, after, replaces
    from unnest(${q.array(c.id)}::text[], ${q.array(c.type)}::text[], ${q.array(c.stateKey)}::text[],
      ${q.array(c.sender)}::text[], ${q.array(c.depth)}::int8[], ${q.array(c.ts)}::int8[], ${q.array(c.redacts)}::text[],
      ${q.array(c.prev)}::text[], ${q.array(c.auth)}::text[], ${q.array(c.json)}::text[], ${q.array(c.outlier)}::bool[],
      ${q.array(c.rejected)}::text[], ${q.array(c.softFailed)}::bool[], ${q.array(c.position)}::int8[],
      ${q.array(c.draw)}::bool[], ${q.array(c.before)}::int8[], ${q.array(c.after)}::int8[], ${q.array(c.replaces)}::text[])
      as u (id, type, state_key, sender, depth, ts, redacts, prev, auth, json, outlier, rejected, soft_failed,
        position, draw, before, after, replaces)
    ${lock}
      returning event_id, stream_position
    ),
    edges as (
      insert into event_edges (prev_event_id, event_id)
      select * from unnest(${q.array(edges.prev)}::text[], ${q.array(edges.event)}::text[])
      on conflict do nothing
    )
    select event_id, stream_position from inserted`;
}

/** The event types search reads (migrations 0012 and 0042): their timeline events get a row in event_search. */
const SEARCHABLE_TYPES: ReadonlySet<string> = new Set(['m.room.message', 'm.room.name', 'm.room.topic']);

/** A timeline event's search row to be: its content, as JSON under a `content` key (all hearth_search_text reads). */
interface SearchRow {
  readonly id: string;
  readonly type: string;
  readonly content: string;
}

/**
 * Writes the events' rows of event_search (migration 0042): the text search reads, as a tsvector. A
 * statement per MAX_STATEMENT_JSON_CHARS of content, as for the events themselves. Sent before the events'
 * insert, they run before the events-stream lock is taken, which every room's writers share.
 */
function searchRows(q: Query, rows: readonly SearchRow[]) {
  const slices: SearchRow[][] = [];
  let chars = 0;
  for (const row of rows) {
    if (slices.length === 0 || (chars > 0 && chars + row.content.length > MAX_STATEMENT_JSON_CHARS)) {
      slices.push([]);
      chars = 0;
    }
    slices.at(-1)!.push(row);
    chars += row.content.length;
  }
  return slices.map((slice) => q`
    insert into event_search (event_id, vector)
    select id, to_tsvector('english', coalesce(hearth_search_text(type, content), ''))
    from unnest(${q.array(slice.map((row) => row.id))}::text[], ${q.array(slice.map((row) => row.type))}::text[],
      ${q.array(slice.map((row) => row.content))}::text[]) as s (id, type, content)
    on conflict (event_id) do nothing`);
}

function stateKeyOfEvent(event: NewEvent['event']): StateKey | undefined {
  return event.stateKey === undefined ? undefined : stateKey(event.type, event.stateKey);
}

/**
 * The batch's events already stored, and the events its state inputs name, with their groups; fails for an
 * unknown room. One statement: on the embedded engine a statement costs far more than its few rows.
 */
async function knownEvents(q: Query, cache: StateCache, roomId: string, eventIds: string[]): Promise<Map<string, KnownEvent>> {
  const rows = await q<
    { room: boolean; event_id: string | null; stream_position: number | null; before: number | null; after: number | null; movable: boolean | null }[]
  >`
    select exists (select 1 from rooms where room_id = ${roomId}) as room, e.event_id, e.stream_position,
      e.state_before as before, e.state_after as after, (e.outlier and e.rejected_reason is null) as movable
    from (values (1)) as one (x)
    left join events e on e.event_id = any(${q.array(eventIds)}::text[])`;
  if (rows[0]?.room !== true) throw new StorageError(`cannot persist events into unknown room ${roomId}`);
  const unknownChains = new Set<number>();
  for (const row of rows) {
    for (const group of [row.before, row.after]) {
      if (group !== null && cache.chainOf(group) === undefined) unknownChains.add(group);
    }
  }
  if (unknownChains.size > 0) {
    const chains = await q<{ state_group: number; chain_length: number }[]>`
      select state_group, chain_length from state_groups where state_group = any(${q.array([...unknownChains])}::int8[])`;
    for (const row of chains) cache.setChain(row.state_group, row.chain_length);
  }
  const ref = (group: number | null): GroupRef | null => {
    if (group === null) return null;
    const chain = cache.chainOf(group);
    if (chain === undefined) throw new StorageError(`state group ${group} does not exist`);
    return { id: group, chain };
  };
  const known = new Map<string, KnownEvent>();
  for (const row of rows) {
    if (row.event_id !== null) {
      known.set(row.event_id, { position: row.stream_position, movable: row.movable === true, before: ref(row.before), after: ref(row.after) });
    }
  }
  return known;
}

/**
 * What knownEvents would find, from memory alone, for fresh events (none is stored) whose state inputs
 * name events the process remembers the groups of; undefined if any is not remembered. The room's row
 * was read by the caller in the same transaction (a room is never deleted).
 */
function rememberedEvents(cache: StateCache, events: readonly NewEvent[], groupsOf: PersistHooks['groupsOf']): Map<string, KnownEvent> | undefined {
  const known = new Map<string, KnownEvent>();
  for (const { stateBefore } of events) {
    if (stateBefore === null || stateBefore.kind === 'full' || known.has(stateBefore.eventId)) continue;
    if (events.some(({ event }) => event.eventId === stateBefore.eventId)) continue;
    const groups = groupsOf?.(stateBefore.eventId);
    const before = groups && cache.chainOf(groups.before);
    const after = groups && cache.chainOf(groups.after);
    if (groups === undefined || before === undefined || after === undefined) return undefined;
    known.set(stateBefore.eventId, {
      position: null,
      movable: false,
      before: { id: groups.before, chain: before },
      after: { id: groups.after, chain: after },
    });
  }
  return known;
}

/**
 * Draws `positions` events-stream positions and `groups` state group ids, each ascending, in one statement.
 * The events-stream lock is taken first: the uncorrelated condition becomes a one-time filter, evaluated
 * before the first position is drawn. Held until commit. (A batch with no position to draw skips it at best;
 * taking it needlessly costs only a short wait.)
 */
async function drawIds(q: Query, positions: number, groups: number): Promise<{ positions: number[]; groupIds: number[] }> {
  if (positions === 0 && groups === 0) return { positions: [], groupIds: [] };
  const rows = await q<{ kind: 'p' | 'g'; id: number }[]>`
    select 'p' as kind, nextval('events_stream_seq') as id from generate_series(1, ${positions})
    where (select true from pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${EVENTS_STREAM_LOCK_ID}))
    union all
    select 'g', nextval('state_group_seq') from generate_series(1, ${groups})`;
  const pick = (kind: 'p' | 'g') => rows.filter((row) => row.kind === kind).map((row) => row.id).sort((a, b) => a - b);
  return { positions: pick('p'), groupIds: pick('g') };
}

/** Draws `count` state group ids, ascending; no lock is needed for them. */
async function drawGroupIds(q: Query, count: number): Promise<number[]> {
  if (count === 0) return [];
  const rows = await q<{ id: number }[]>`select nextval('state_group_seq') as id from generate_series(1, ${count})`;
  return rows.map((row) => row.id).sort((a, b) => a - b);
}

/** The states after the room's forward extremities: the likeliest close parents for a whole new state. */
async function extremityGroups(q: Query, roomId: string): Promise<GroupRef[]> {
  const rows = await q<{ state_group: number; chain_length: number }[]>`
    select distinct g.state_group, g.chain_length
    from forward_extremities f
    join events e on e.event_id = f.event_id
    join state_groups g on g.state_group = e.state_after
    where f.room_id = ${roomId}
    order by g.state_group desc
    limit ${MAX_PARENT_CANDIDATES}`;
  return rows.map((row) => ({ id: row.state_group, chain: row.chain_length }));
}
