-- Client transaction ids of PUT /rooms/{roomId}/send/{eventType}/{txnId}: a retransmission (same device,
-- same room, same txn id) gets the event id of the first request instead of a second event. The room is
-- part of the key because the spec calls two requests the same only when their paths match, and because
-- the room's write lock then serialises every reader and writer of a key: the row is written in the
-- event's own transaction, so an event never exists without its row or the other way round.
-- Rows go with their device (logout), as the spec scopes transaction ids to a device.
create table event_transactions (
  user_id text not null,
  device_id text not null,
  room_id text not null references rooms (room_id),
  txn_id text not null,
  event_id text not null,
  primary key (user_id, device_id, room_id, txn_id),
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

-- GET /joined_rooms: a user's membership events in the current state of every room.
create index current_state_members on current_state (state_key, room_id) where type = 'm.room.member';
