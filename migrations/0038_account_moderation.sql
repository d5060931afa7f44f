-- Account moderation (client-server API 1.18, "Account moderation"; src/users/account-moderation.ts): a
-- server admin locks an account (every request but logout answers M_USER_LOCKED) or suspends it (it may
-- read, leave and manage itself, but not join, invite, send or change its profile: M_USER_SUSPENDED).
-- Both are undone by the admin; neither touches the account's tokens, devices or rooms.
alter table users
  add column locked boolean not null default false,
  add column suspended boolean not null default false;
