-- How far the push sender (src/push/sender.ts) has judged the events stream for push notifications. No
-- row until it first starts: it then begins at the stream's end, so an upgrade pushes nothing old.
create table push_sender_position (
  position bigint not null
);
