-- Room aliases, the published room directory and content reports (src/storage/directory-store.ts and
-- src/storage/reports-store.ts implement the ports in src/rooms/ports.ts and src/moderation/ports.ts on
-- these). The user directory needs no table of its own: it reads profiles and current_state.

-- Aliases of this server only (another server's aliases are resolved over federation, never stored).
-- `creator` may delete the alias without power in the room, as Synapse allows.
create table room_aliases (
  room_alias text primary key,
  room_id text not null references rooms (room_id),
  creator text not null,
  created_ts bigint not null
);

create index room_aliases_room on room_aliases (room_id);

-- A row per room published in the room directory ("public" visibility); no row is "private".
create table published_rooms (
  room_id text primary key references rooms (room_id),
  published_ts bigint not null
);

-- Reports of an event, a room or a user, kept for the server's admins. kind says which: an event report
-- has room_id and event_id, a room report room_id, a user report target_user_id. score is the 0..-100
-- rating older clients send (removed from the spec in v1.18). No foreign keys: a report outlives what
-- it reports (a purged room, a deactivated user).
create table reports (
  report_id bigint generated always as identity primary key,
  kind text not null check (kind in ('event', 'room', 'user')),
  received_ts bigint not null,
  reporter text not null,
  room_id text,
  event_id text,
  target_user_id text,
  reason text,
  score integer,
  check ((kind = 'event') = (event_id is not null)),
  check ((kind = 'user') = (target_user_id is not null))
);

create index reports_received on reports (kind, received_ts);
