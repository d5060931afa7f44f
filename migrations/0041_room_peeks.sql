-- Rooms a device peeks into without joining (MSC2753, src/rooms/peeks.ts): /sync shows each in rooms.peek
-- for that device. A row stays when the device stops peeking (peeking false), so the stream's maximum never
-- goes down; each peek and unpeek takes a new position on the peeks stream, drawn under
-- PEEKS_STREAM_LOCK_ID so that positions commit in order.
create sequence room_peeks_stream_seq;

create table room_peeks (
  user_id text not null,
  device_id text not null,
  room_id text not null,
  peeking boolean not null,
  stream_position bigint not null,
  primary key (user_id, device_id, room_id)
);

create index room_peeks_stream_position on room_peeks (stream_position);
