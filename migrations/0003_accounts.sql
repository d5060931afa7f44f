-- Local accounts, their devices and access tokens, and the short-lived state of registration
-- (src/storage/accounts-store.ts implements src/users/ports.ts on these).

-- password_hash is a self-describing scrypt string (scrypt$N$r$p$salt$hash, src/users/passwords.ts), or
-- null for an account that cannot log in with a password. Deactivated accounts keep their row so that
-- the user id is never handed out again.
create table users (
  user_id text primary key,
  password_hash text,
  created_ts bigint not null,
  deactivated boolean not null default false,
  admin boolean not null default false,
  is_guest boolean not null default false
);

create table devices (
  user_id text not null references users (user_id),
  device_id text not null,
  display_name text,
  created_ts bigint not null,
  last_seen_ts bigint,
  primary key (user_id, device_id)
);

-- Only the SHA-256 of each token is kept: tokens are 256 random bits, so a plain hash is as good as a
-- slow one, and a leaked table gives no usable token. Every token belongs to a device; deleting the
-- device (logout) deletes its tokens.
create table access_tokens (
  token_hash text primary key,
  user_id text not null,
  device_id text not null,
  created_ts bigint not null,
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

create index access_tokens_device on access_tokens (user_id, device_id);

-- User-interactive authentication sessions. `operation` is what the session was started for (method and
-- endpoint); a session cannot be carried over to another operation. `completed` is a JSON array of the
-- stages done, in order.
create table uia_sessions (
  session_id text primary key,
  operation text not null,
  completed text not null default '[]',
  created_ts bigint not null
);

-- Nonces handed out by GET /_synapse/admin/v1/register; each is taken (deleted) by the one POST that
-- uses it, so it works once, whichever process serves the POST.
create table registration_nonces (
  nonce text primary key,
  created_ts bigint not null
);
