-- What /sync asks of the tables (src/storage/sync-store.ts).

-- "Which of my member events are newer than my since-token?": a user's member events by stream position.
create index events_member_stream on events (state_key, stream_position)
  where type = 'm.room.member' and stream_position is not null;

-- The account-data stream's highest position, read once per sync.
create index account_data_position on account_data (stream_position);
