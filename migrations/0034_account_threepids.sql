-- Email addresses on accounts (src/users/account-threepids.ts): each address belongs to one account at most.
create table account_threepids (
  medium text not null,
  address text not null,
  user_id text not null,
  validated_ts bigint not null,
  added_ts bigint not null,
  primary key (medium, address)
);
create index account_threepids_by_user on account_threepids (user_id);

-- Validation sessions (POST .../email/requestToken): the link mailed carries a token, kept hashed; the
-- session is validated when the link is followed, and may then add the address to an account once.
create table threepid_validation_sessions (
  sid text primary key,
  client_secret text not null,
  medium text not null,
  address text not null,
  token_hash text not null,
  send_attempt integer not null,
  created_ts bigint not null,
  validated_ts bigint,
  unique (client_secret, medium, address)
);
