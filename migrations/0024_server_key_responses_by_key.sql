-- A notary hands on, for each key asked about, the newest answer that lists it: one answer per key, not
-- per server. A server that later publishes another key (or forgets an old one) must not make the notary
-- forget the answer that vouched for the first: events signed with it still need checking.
create table server_key_responses_by_key (
  server_name text not null,
  key_id text not null,
  response_json text not null,
  valid_until_ts bigint not null,
  fetched_ts bigint not null,
  primary key (server_name, key_id)
);

-- Each stored answer, for every key it lists (current or old).
insert into server_key_responses_by_key (server_name, key_id, response_json, valid_until_ts, fetched_ts)
select r.server_name, k.key_id, r.response_json, r.valid_until_ts, r.fetched_ts
from server_key_responses r,
  jsonb_object_keys(coalesce(r.response_json::jsonb -> 'verify_keys', '{}') || coalesce(r.response_json::jsonb -> 'old_verify_keys', '{}')) as k (key_id);

drop table server_key_responses;
