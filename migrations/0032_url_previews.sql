-- URL previews (GET /_matrix/client/v1/media/preview_url, src/media/preview/): the OpenGraph answer made
-- for a URL, kept until expires_ts so that every client showing the same link costs one fetch. A URL has
-- a row per fetch; the newest unexpired one is served (or the newest fetched at or before the `ts` a
-- client asks for), and rows are dropped once expired. Its picture is ordinary media of this server's.
create table url_previews (
  url text not null,
  fetched_ts bigint not null,
  expires_ts bigint not null,
  og text not null,
  primary key (url, fetched_ts)
);
create index url_previews_expiry on url_previews (expires_ts);
