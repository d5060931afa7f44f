-- Other servers' signing keys, as the keyring (src/federation/keyring.ts) learnt them, directly from
-- GET /_matrix/key/v2/server or through a notary. src/storage/server-keys-store.ts implements the port
-- in src/federation/ports.ts on these tables.
--
-- One row per key. valid_until_ts is how long the key may sign: for a key in verify_keys the lesser of the
-- answer's valid_until_ts and seven days after it was fetched (the spec's cap), never lowered by a later,
-- shorter answer; for a key in old_verify_keys its expired_ts, which expired_ts also records (null: the
-- last answer listed the key as current).
create table server_keys (
  server_name text not null,
  key_id text not null,
  -- Unpadded base64 of the 32-byte ed25519 public key.
  verify_key text not null,
  valid_until_ts bigint not null,
  expired_ts bigint,
  fetched_ts bigint not null,
  primary key (server_name, key_id)
);

-- The newest signed answer each server gave (its JSON text as received, signatures included), which this
-- server hands on, countersigned, when it answers POST /_matrix/key/v2/query as a notary.
create table server_key_responses (
  server_name text primary key,
  response_json text not null,
  valid_until_ts bigint not null,
  fetched_ts bigint not null
);
