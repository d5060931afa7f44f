-- Remote users' device lists as their servers last gave them (src/e2ee/remote-device-lists.ts), kept for
-- users who share a room with a local user: /keys/query answers from here, and the user's server keeps it
-- current with m.device_list_update EDUs. Replaces a per-process cache that forgot everything on restart
-- and could not tell a missed update.
create table remote_device_lists (
  user_id text primary key,
  -- The user's server's device-list stream_id this copy is at, and the stream ids it has seen (the most
  -- recent few): an update whose prev_id are all among them applies on top; any other means a missed update.
  stream_id bigint not null,
  known_ids bigint[] not null,
  -- An update could not be applied and asking the server failed: the next query asks again, answering
  -- from this copy meanwhile.
  stale boolean not null default false,
  -- device id -> { "keys": the signed device keys, "display_name": ... }
  devices jsonb not null,
  master_key jsonb,
  self_signing_key jsonb,
  -- The events stream's position when the list was fetched: if no local user has shared a room with the
  -- user continuously since then, updates may have been missed (the user's server stops sending them to
  -- a server it shares no room with) and the list is fetched again.
  synced_position bigint not null,
  updated_ts bigint not null
);
