-- Which server_name this database belongs to. Every stored user id, room alias and event signature embeds
-- the server name, so a database is bound to one name for life (Synapse refuses a changed name the same way).
-- The boolean key with its check admits exactly one row.
create table instance (
  id boolean primary key default true check (id),
  server_name text not null,
  created_ts bigint not null
);
