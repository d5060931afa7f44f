-- Application services' own room directories (client-server API, "Application service room directory
-- management"): a row per room a service lists under one of its networks; no row is "private". /publicRooms
-- shows one network's rooms for third_party_instance_id, and all of them beside the main list
-- (published_rooms) for include_all_networks (src/storage/directory-store.ts). appservice_id is the id in
-- the service's registration file, which the server may lose: no foreign key, the rows outlive it.
create table appservice_room_list (
  appservice_id text not null,
  network_id text not null,
  room_id text not null references rooms (room_id),
  listed_ts bigint not null,
  primary key (appservice_id, network_id, room_id)
);

-- For the foreign key: deleting a room looks here by room_id.
create index appservice_room_list_room on appservice_room_list (room_id);
