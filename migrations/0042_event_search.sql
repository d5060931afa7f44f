-- Full-text search reads a table of its own (src/storage/search-store.ts), no longer an index on events
-- (0012's events_search). An event's row here is written in the event's transaction before the events-stream
-- lock is taken (src/storage/persist-events.ts). On the events row, indexing a message's text (to_tsvector
-- and its GIN entry) ran inside that lock, which the sends of every room take one at a time: about a third
-- of the time it was held (the README's sync-latency section has the figures).
--
-- The text is still hearth_search_text(type, json) under 'english' (0012 says why), now made a tsvector once,
-- when the row is written, not again by every search. A row for every timeline event of the three searchable
-- types, as events_search held an entry for each.
create table event_search (
  event_id text primary key,
  vector tsvector not null
);

create index event_search_vector on event_search using gin (vector);

insert into event_search (event_id, vector)
  select event_id, to_tsvector('english', coalesce(hearth_search_text(type, json), ''))
  from events
  where stream_position is not null and type in ('m.room.message', 'm.room.name', 'm.room.topic');

drop index events_search;
