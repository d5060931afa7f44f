-- Accounts deactivated with `erase: true` (POST /account/deactivate): their events are served redacted to
-- users who were not in the room when they were sent, and to other servers (src/rooms/erasure.ts). Every
-- process keeps the list in memory, read once at start-up.
alter table users add column erased boolean not null default false;
create index users_erased on users (user_id) where erased;
