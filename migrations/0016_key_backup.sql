-- Server-side key backups (client-server API, "Server-side key backups"): encrypted copies of a user's
-- Megolm session keys, which Hearth keeps but cannot read. src/storage/key-backup-store.ts implements the
-- KeyBackupStore of src/e2ee/ports.ts on these tables.

-- A backup version of a user. Versions count up per user from 1 and are never reused: a deleted version
-- keeps its row with `deleted` set (its keys go), so a client holding an old version number can never
-- write into a newer backup by accident. The current version is the user's highest one not deleted.
-- `etag` counts the changes to the version's keys; clients compare it to learn that another device
-- changed the backup. `auth_data` is the client's JSON object as given.
create table key_backup_versions (
  user_id text not null references users (user_id) on delete cascade,
  version bigint not null,
  algorithm text not null,
  auth_data text not null,
  etag bigint not null default 0,
  deleted boolean not null default false,
  primary key (user_id, version)
);

-- One backed-up session key: the metadata the server compares when a key for the same session is
-- uploaded again (the spec's rule keeps the better one), and the encrypted `session_data` as JSON text.
create table key_backup_keys (
  user_id text not null,
  version bigint not null,
  room_id text not null,
  session_id text not null,
  first_message_index bigint not null,
  forwarded_count bigint not null,
  is_verified boolean not null,
  session_data text not null,
  primary key (user_id, version, room_id, session_id),
  foreign key (user_id, version) references key_backup_versions (user_id, version) on delete cascade
);
