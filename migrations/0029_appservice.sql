-- Application services (src/appservice/sender.ts). Per service: how far the events stream has been
-- looked through for it, and the last transaction id it was sent. No row until the sender first starts
-- for the service: it then begins at the stream's end, so a bridge added later is not sent old history.
create table appservice_positions (
  appservice_id text primary key,
  position bigint not null,
  last_txn_id bigint not null default 0
);

-- The transaction being delivered to a service, at most one per service. It is written in the same
-- transaction that moves the service's position past its events, and deleted once the service has
-- accepted it: a restart or an unreachable service sends the very same transaction again (the spec
-- forbids changing a transaction's events on retry), and nothing is sent twice under two ids.
create table appservice_transactions (
  appservice_id text primary key,
  txn_id bigint not null,
  body text not null
);

-- An application service acting for a user without naming a device scopes its transaction ids to the
-- user: device_id '' (src/rooms/client-rooms.ts txnDevice), which no device has. The foreign key to
-- devices becomes a trigger that still forgets a device's transaction ids with the device.
alter table event_transactions drop constraint event_transactions_user_id_device_id_fkey;
create function forget_device_transactions() returns trigger language plpgsql as $$
begin
  delete from event_transactions where user_id = old.user_id and device_id = old.device_id;
  return old;
end
$$;
create trigger devices_forget_transactions after delete on devices
  for each row execute function forget_device_transactions();
