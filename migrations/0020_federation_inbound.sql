-- Inbound federation transactions (src/storage/federation-inbound-store.ts implements the port in
-- src/federation/inbound-ports.ts on these): the answers already given, so that a retried PUT /send
-- returns the same answer without processing its PDUs and EDUs again, and the message ids of remote
-- send-to-device EDUs already delivered.

-- One row per (origin, txn_id) answered; response is the JSON text of the answer. Old rows are pruned by
-- received_ts: a sender retries a transaction for minutes, not days.
create table federation_inbound_transactions (
  origin text not null,
  txn_id text not null,
  response text not null,
  received_ts bigint not null,
  primary key (origin, txn_id)
);

create index federation_inbound_transactions_age on federation_inbound_transactions (received_ts);

-- m.direct_to_device message ids seen, per sending user (the spec scopes them to the sender), so that a
-- message a remote server sends twice reaches the devices once.
create table federation_inbound_to_device (
  sender text not null,
  message_id text not null,
  received_ts bigint not null,
  primary key (sender, message_id)
);

create index federation_inbound_to_device_age on federation_inbound_to_device (received_ts);

-- Presence now also holds remote users (from m.presence EDUs), who have no row in users.
alter table presence drop constraint presence_user_id_fkey;
