-- Relations between events (client-server API, "Forming relationships between events"): the children of a
-- parent are the events whose content."m.relates_to".event_id names it (src/storage/relations.ts).

-- "Which events relate to these?", asked for every event served to a client (bundled aggregations) and by
-- GET /relations. Only timeline events count: outliers and rejected events have no stream position.
create index events_relates_to on events ((json::jsonb -> 'content' -> 'm.relates_to' ->> 'event_id'), stream_position)
  where stream_position is not null and (json::jsonb -> 'content' -> 'm.relates_to' ->> 'event_id') is not null;

-- GET /threads: a room's thread replies by position, newest first, to order thread roots by latest activity.
create index events_thread_replies on events (room_id, stream_position)
  where stream_position is not null and (json::jsonb -> 'content' -> 'm.relates_to' ->> 'rel_type') = 'm.thread';
