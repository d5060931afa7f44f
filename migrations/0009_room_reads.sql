-- What clients read of a room's history: redactions, forgotten rooms, events by time
-- (src/storage/room-timeline.ts implements the reads of src/rooms/ports.ts on these).

-- "Which redactions name these events?", asked for every event served to a client. events.redacts is
-- filled for every room version (top level up to v10, content from v11), so one index serves both.
create index events_redacts on events (redacts) where redacts is not null;

-- GET /timestamp_to_event: a room's timeline events by the time their sender's server gave them.
create index events_room_ts on events (room_id, origin_server_ts) where stream_position is not null;

-- Rooms a user has forgotten (POST /rooms/{roomId}/forget). The row names the user's membership event
-- current when they forgot: the room stays forgotten while that event is still their membership, so a new
-- join, invite or knock (any new member event) brings the room back without anyone deleting the row.
create table forgotten_rooms (
  user_id text not null,
  room_id text not null references rooms (room_id),
  membership_event_id text not null,
  primary key (user_id, room_id)
);
