-- Per-user data a client sets and reads back: profiles, account data and sync filters
-- (src/storage/user-data-store.ts implements the ports in src/users/ports.ts on these).

-- One row per local user, written with the account (displayname defaults to the localpart, as Synapse
-- does). null: the field is unset.
create table profiles (
  user_id text primary key references users (user_id),
  displayname text,
  avatar_url text
);

-- Accounts made before this migration get the same default profile as new ones.
insert into profiles (user_id, displayname)
select user_id, substring(user_id from 2 for position(':' in user_id) - 2) from users;

-- Account data, global (room_id = '') and per room. Each write moves the row to a new position on the
-- account-data stream, so /sync reads "what changed since N" as the rows above N (latest value only, which
-- is all the spec asks for). Positions are drawn under an advisory lock held until commit, so they commit
-- in order and a reader never skips one that commits late.
create sequence account_data_stream_seq;

create table account_data (
  user_id text not null references users (user_id),
  room_id text not null,
  type text not null,
  content text not null,
  stream_position bigint not null,
  primary key (user_id, room_id, type)
);

create index account_data_stream on account_data (user_id, stream_position);

-- Filters are immutable once made; ids count up per user from 0 (as Synapse's). The JSON is stored as
-- canonical JSON so that posting the same filter again finds the first one.
create table filters (
  user_id text not null references users (user_id),
  filter_id bigint not null,
  filter_json text not null,
  primary key (user_id, filter_id)
);
