-- Server-side search (POST /search, room_events): full-text search over the searchable keys of events
-- (src/storage/search-store.ts reads it).

-- The text of an event that search reads: content.body of m.room.message, content.name of m.room.name,
-- and content.topic of m.room.topic with the text/plain body of its m.topic. Null for any other type. One
-- definition, so the index expression and the queries stay the same expression.
create function hearth_search_text(event_type text, event_json text) returns text
language sql immutable parallel safe as $$
  select case event_type
    when 'm.room.message' then event_json::jsonb -> 'content' ->> 'body'
    when 'm.room.name' then event_json::jsonb -> 'content' ->> 'name'
    when 'm.room.topic' then concat_ws(' ',
      event_json::jsonb -> 'content' ->> 'topic',
      jsonb_path_query_first(event_json::jsonb,
        '$.content."m.topic"."m.text"[*] ? (!exists(@.mimetype) || @.mimetype == "text/plain").body') #>> '{}')
  end
$$;

-- 'english' stems (a search for "martian" finds "Martians") and drops stop words, as Synapse's search does;
-- it ships with PostgreSQL and with the embedded engine alike. Partial: only timeline events of the three
-- searchable types are indexed, so other events cost nothing here.
create index events_search on events
  using gin (to_tsvector('english', coalesce(hearth_search_text(type, json), '')))
  where stream_position is not null and type in ('m.room.message', 'm.room.name', 'm.room.topic');
