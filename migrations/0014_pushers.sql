-- Pushers, OpenID tokens, and what a user-interactive-auth session remembers between its requests.

-- A pusher (POST /pushers/set) belongs to the device whose token set it: when the device goes (logout, a
-- password change logging other devices out, deactivation) its pushers go with it, as Synapse deletes
-- pushers whose access token is gone. (app_id, pushkey) is unique per user; other users may share it only
-- when they set it with append. `data` is the client's JSON object as given (url, format, custom keys).
-- src/storage/pushers-store.ts implements src/push/ports.ts on this table.
create table pushers (
  user_id text not null,
  device_id text not null,
  app_id text not null,
  pushkey text not null,
  kind text not null,
  app_display_name text not null,
  device_display_name text not null,
  profile_tag text,
  lang text not null,
  data text not null,
  created_ts bigint not null,
  primary key (user_id, app_id, pushkey),
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

create index pushers_app_pushkey on pushers (app_id, pushkey);

-- OpenID tokens (POST /user/{userId}/openid/request_token), which other servers exchange for the user id
-- at GET /_matrix/federation/v1/openid/userinfo. Only the SHA-256 is kept, as for access tokens.
create table openid_tokens (
  token_hash text primary key,
  user_id text not null references users (user_id),
  expires_ts bigint not null
);

create index openid_tokens_expiry on openid_tokens (expires_ts);

-- The parameters of the request that started (or last carried them in) a UIA session, as JSON: a client
-- may continue the session with only `auth` (the spec: the server remembers them). A password is kept
-- only as its hash. `result` is what the completed operation produced (the registered user id), so
-- completing the same session again answers the same.
alter table uia_sessions add column params text;
alter table uia_sessions add column result text;

-- The user agent of a device's last request, beside its last address (GET /admin/whois shows both).
alter table devices add column last_seen_user_agent text;
