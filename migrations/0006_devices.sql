-- Device management, refresh tokens, guests and registration tokens
-- (src/storage/accounts-store.ts and src/storage/registration-tokens-store.ts implement src/users/ports.ts).

-- Where a device was last seen, for GET /devices. Written when a token is used, at most about once a
-- minute per device, so that reads do not turn into writes.
alter table devices add column last_seen_ip text;

-- Refresh tokens (spec "Refreshing access tokens"), SHA-256 only, like access tokens. A refresh token
-- stays valid after it is used, until its successor (next_hash) or the access token issued with the
-- successor is used: a client that lost the reply can refresh again. Using it again replaces the
-- successor. Tokens go with their device.
create table refresh_tokens (
  token_hash text primary key,
  user_id text not null,
  device_id text not null,
  created_ts bigint not null,
  next_hash text,
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

create index refresh_tokens_next on refresh_tokens (next_hash) where next_hash is not null;
create index refresh_tokens_device on refresh_tokens (user_id, device_id);

-- expires_ts: null for a token that never expires (one issued without a refresh token). refresh_hash:
-- the refresh token issued with this access token; the access token goes when that refresh token does
-- (its successor was used). refresh_pending: the token came from POST /refresh and has not been used
-- yet; its first use revokes the refresh token it was obtained with.
alter table access_tokens add column expires_ts bigint;
alter table access_tokens add column refresh_hash text references refresh_tokens (token_hash) on delete cascade;
alter table access_tokens add column refresh_pending boolean not null default false;

-- Guests get numeric localparts (numeric usernames are refused to everyone else), counted here.
create sequence guest_localparts;

-- Synapse's registration tokens (/_synapse/admin/v1/registration_tokens). uses_allowed null: unlimited.
-- pending counts registrations that have passed the token stage but not finished; completed those that
-- have. A token is usable while pending + completed < uses_allowed and expiry_time (ms) is in the future.
create table registration_tokens (
  token text primary key,
  uses_allowed integer,
  pending integer not null default 0,
  completed integer not null default 0,
  expiry_time bigint
);

-- The registration token a UIA session passed its stage with, so that finishing the registration counts
-- it as completed (and only once).
alter table uia_sessions add column registration_token text;
