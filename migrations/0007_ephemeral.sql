-- Receipts, send-to-device messages and presence: the sync streams that are not room events
-- (src/storage/{receipts,to-device,presence}-store.ts implement the ports in src/ephemeral/ports.ts and
-- src/e2ee/ports.ts on these). Typing notifications are not stored: they live in memory, as in Synapse.
--
-- Each stream draws its positions from its own sequence under an advisory lock held until commit (as the
-- account-data stream does, 0005), so positions commit in order and a reader that saw position N never
-- sees a row at or below N commit later.

-- Receipts: one row per (room, type, user, thread); thread_id '' is an unthreaded receipt, else 'main' or
-- a thread root's event id. A new receipt replaces the row and moves it to a new position, so /sync reads
-- "what changed since N" as the rows above N, and an initial sync reads every row of its rooms.
-- event_position (the event's place on the events stream) lets an older event never replace a newer one.
-- No foreign key to users: receipts from remote users will arrive over federation.
create sequence receipts_stream_seq;

create table receipts (
  room_id text not null,
  receipt_type text not null,
  user_id text not null,
  thread_id text not null,
  event_id text not null,
  event_position bigint,
  ts bigint not null,
  stream_position bigint not null,
  primary key (room_id, receipt_type, user_id, thread_id)
);

create index receipts_stream on receipts (room_id, stream_position);

-- Send-to-device messages waiting for a local device, in order of arrival. One request's messages share
-- one position (a request sends at most one message per device). Rows are deleted once the device's sync
-- acknowledges them, and go with the device (on delete cascade).
create sequence to_device_stream_seq;

create table to_device_messages (
  user_id text not null,
  device_id text not null,
  stream_position bigint not null,
  sender text not null,
  type text not null,
  content text not null,
  primary key (user_id, device_id, stream_position),
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

-- Rows are deleted as they are delivered, so max(stream_position) can go down: the stream's position is
-- kept here instead, written in the same transaction as the messages.
create table to_device_stream (
  position bigint not null
);

insert into to_device_stream (position) values (0);

-- Transaction ids already seen, per sending device, so a retried PUT /sendToDevice sends nothing twice.
create table to_device_transactions (
  sender text not null,
  sender_device_id text not null,
  txn_id text not null,
  created_ts bigint not null,
  primary key (sender, sender_device_id, txn_id),
  foreign key (sender, sender_device_id) references devices (user_id, device_id) on delete cascade
);

-- Presence of local users: one row per user, moved to a new position when what others see changes
-- (state, status message, becoming active). last_active_ts alone may be bumped in place: clients are told
-- "currently active" rather than every new last-active time.
create sequence presence_stream_seq;

create table presence (
  user_id text primary key references users (user_id),
  state text not null,
  status_msg text,
  last_active_ts bigint not null,
  stream_position bigint not null
);

create index presence_stream on presence (stream_position);
