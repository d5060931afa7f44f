-- Dehydrated devices (MSC3814; src/storage/dehydrated-devices-store.ts implements the port in
-- src/e2ee/ports.ts on this). A dehydrated device is an ordinary row in `devices` that never has an access
-- token: other users' devices fetch its keys and send it to-device messages (room keys) as they would to
-- any device, and a client that later decrypts device_data (the pickled Olm account, encrypted by the
-- client; Hearth never reads it) fetches those messages with POST /dehydrated_device/{id}/events.
--
-- One per user (the primary key). It goes with its device (on delete cascade), so deleting the device by
-- any route (DELETE /devices, logout/all, deactivation) leaves no dangling record; replacing it deletes
-- the old device, and with it (cascade) the old device's keys and queued to-device messages.
create table dehydrated_devices (
  user_id text primary key,
  device_id text not null,
  -- The client's JSON object, as uploaded.
  device_data text not null,
  foreign key (user_id, device_id) references devices (user_id, device_id) on delete cascade
);
