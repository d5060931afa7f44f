-- End-to-end encryption keys and the device-list stream (src/storage/keys-store.ts implements the ports
-- in src/e2ee/ports.ts on these). Hearth never sees a private key: these are the public halves clients
-- publish for each other, kept as the JSON objects they uploaded.

-- A device's identity keys (POST /keys/upload device_keys), as uploaded: the object the device signed.
-- They go with the device.
create table device_keys (
  user_id text not null,
  device_id text not null,
  key_json text not null,
  primary key (user_id, device_id),
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

-- One-time keys: each is handed out once by /keys/claim (deleted as it is), oldest upload first
-- (upload_order; keys of one upload are equal, so no order among them is promised).
create sequence one_time_key_upload_seq;

create table one_time_keys (
  user_id text not null,
  device_id text not null,
  algorithm text not null,
  key_id text not null,
  key_json text not null,
  upload_order bigint not null,
  primary key (user_id, device_id, algorithm, key_id),
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

create index one_time_keys_claim on one_time_keys (user_id, device_id, algorithm, upload_order);

-- Fallback keys: at most one per device and algorithm, handed out when the one-time keys have run out and
-- kept (marked used) until the device uploads a new one.
create table fallback_keys (
  user_id text not null,
  device_id text not null,
  algorithm text not null,
  key_id text not null,
  key_json text not null,
  used boolean not null default false,
  primary key (user_id, device_id, algorithm),
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);

-- Cross-signing keys (POST /keys/device_signing/upload): one of each kind per user, as uploaded.
-- public_key is the key's unpadded base64 ed25519 key, the id other users' signatures name it by.
create table cross_signing_keys (
  user_id text not null,
  key_type text not null check (key_type in ('master', 'self_signing', 'user_signing')),
  public_key text not null,
  key_json text not null,
  primary key (user_id, key_type)
);

-- Signatures added by POST /keys/signatures/upload, kept apart from the signed objects: a device's
-- signature by its owner's self-signing key, a master key's by its owner's devices or by another user's
-- user-signing key. target_key_id is a device id or a cross-signing public key; signer_key_id is as in
-- the signatures object ("ed25519:..."). A signature by another user's user-signing key is shown only to
-- that user (spec: "Key and signature security").
create table key_signatures (
  target_user_id text not null,
  target_key_id text not null,
  signer_user_id text not null,
  signer_key_id text not null,
  signature text not null,
  primary key (target_user_id, target_key_id, signer_user_id, signer_key_id)
);

-- The device-list stream: a row for each change to a user's devices or cross-signing keys, read by
-- /sync (device_lists.changed) and /keys/changes. only_for, when set, limits the change to one reader: a
-- signature by that user's user-signing key on user_id's master key, which no one else sees.
-- Positions are drawn under an advisory lock held until commit, as the other streams do (0007), so a
-- reader that saw position N never sees a change at or below N commit later.
create sequence device_list_stream_seq;

create table device_list_changes (
  position bigint not null,
  user_id text not null,
  only_for text,
  primary key (position, user_id)
);

create index device_list_changes_user on device_list_changes (user_id, position);
