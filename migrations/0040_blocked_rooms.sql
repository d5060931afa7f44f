-- Rooms a server admin blocked (Synapse's admin API, src/rooms/admin-rooms.ts): this server's users may
-- not join, knock on or be invited to them, and other servers may not join them through this server.
create table blocked_rooms (
  room_id text primary key,
  blocked_by text not null,
  blocked_ts bigint not null
);
