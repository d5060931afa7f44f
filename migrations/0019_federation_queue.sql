-- The outbound federation queue (src/storage/federation-queue-store.ts implements the port in
-- src/federation/sender-ports.ts on these): what waits to be sent to each remote server, and how each
-- server is doing, so that a restart loses nothing and resumes where it stopped.

-- The last events-stream position the sender has looked at: events above it have not been queued yet.
-- Starts at the current position, so existing history is never sent; moved forward in the same
-- transaction that queues the PDUs it covered.
create table federation_sender_position (
  position bigint not null
);

insert into federation_sender_position (position) select coalesce(max(stream_position), 0) from events;

-- PDUs waiting for a destination, by reference to the stored event (its JSON is read when sent, so a
-- PDU is stored once however many servers wait for it). Sent in stream order.
create table federation_queued_pdus (
  destination text not null,
  stream_position bigint not null,
  event_id text not null,
  primary key (destination, stream_position)
);

-- EDUs waiting for a destination, in order of id. An EDU with a dedupe key (say the typing state of one
-- user in one room) replaces the waiting one with the same key and takes a new id, so only the latest
-- is sent and a transaction already in flight with the old one never deletes the new one. Null keys
-- never conflict.
create sequence federation_queued_edus_seq as bigint;

create table federation_queued_edus (
  id bigint primary key default nextval('federation_queued_edus_seq'),
  destination text not null,
  edu_type text not null,
  -- The EDU's content as JSON text.
  content text not null,
  dedupe_key text,
  queued_ts bigint not null,
  unique (destination, dedupe_key)
);

create index federation_queued_edus_destination on federation_queued_edus (destination, id);

-- One row per destination ever tried. retry_interval_ms is 0 while the server answers; after a failure
-- it holds the current back-off and next_attempt_ts when to try again. last_sent_position is the highest
-- events-stream position of a PDU the destination accepted.
create table federation_destinations (
  destination text primary key,
  retry_interval_ms bigint not null default 0,
  next_attempt_ts bigint not null default 0,
  last_success_ts bigint,
  last_sent_position bigint not null default 0
);
