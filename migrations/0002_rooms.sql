-- Rooms, their events and their state (src/storage/room-store.ts implements src/rooms/ports.ts on these).

create table rooms (
  room_id text primary key,
  room_version text not null,
  creator text not null
);

-- State groups: a group is its parent's state plus a delta, or a full snapshot (no parent). A delta entry
-- with a null event_id removes the key (a resolved state may drop entries). chain_length counts the deltas
-- between the group and its snapshot; the store writes a snapshot instead once it would pass a bound, so
-- rebuilding a state reads a bounded chain and storage grows with state changes, not events x state.
create sequence state_group_seq as bigint;

create table state_groups (
  state_group bigint primary key,
  room_id text not null,
  parent_group bigint references state_groups (state_group),
  chain_length integer not null,
  check ((parent_group is null) = (chain_length = 0))
);

create table state_group_entries (
  state_group bigint not null references state_groups (state_group),
  type text not null,
  state_key text not null,
  event_id text,
  primary key (state_group, type, state_key)
);

-- Positions on the events stream. Taken only while holding the events-stream advisory lock until commit,
-- so positions become visible in order (see room-store.ts); a rolled-back transaction leaves a gap, never a
-- late arrival below a position already seen.
create sequence events_stream_seq as bigint;

-- Every stored event. `json` is the PDU text exactly as stored (text, not jsonb, which would reorder keys);
-- the other columns are what queries need. depth and origin_server_ts are clamped to +-(2^53 - 1) (only
-- room versions 1-5 allow more); the JSON keeps the real values.
-- No foreign keys on this table: their per-row checks cost ~40% of persisting on the embedded engine
-- (bench/persist.ts), and its one writer (src/storage/persist-events.ts) checks the room and writes the
-- state groups in the same transaction, before the events.
create table events (
  event_id text primary key,
  room_id text not null,
  type text not null,
  state_key text,
  sender text not null,
  depth bigint not null,
  origin_server_ts bigint not null,
  redacts text,
  prev_events text[] not null,
  auth_events text[] not null,
  json text not null,
  outlier boolean not null,
  rejected_reason text,
  soft_failed boolean not null,
  stream_position bigint unique,
  state_before bigint,
  state_after bigint,
  check ((stream_position is null) = (outlier or rejected_reason is not null)),
  check ((state_before is null) = outlier),
  check ((state_after is null) = outlier)
);

create index events_room_stream on events (room_id, stream_position) where stream_position is not null;

-- The DAG read forwards: which events name an event as a prev_event (events.prev_events reads it backwards).
create table event_edges (
  prev_event_id text not null,
  event_id text not null,
  primary key (prev_event_id, event_id)
);

create table forward_extremities (
  room_id text not null references rooms (room_id),
  event_id text not null,
  primary key (room_id, event_id)
);

create table current_state (
  room_id text not null references rooms (room_id),
  type text not null,
  state_key text not null,
  event_id text not null,
  primary key (room_id, type, state_key)
);
