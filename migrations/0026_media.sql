-- The media repository (src/media/). One row per piece of content: this server's uploads (origin is our
-- server name) and the copies of other servers' content fetched for local users (origin is theirs). The
-- bytes live in the blob store, named by their SHA-256, so identical uploads share one file.
-- An asynchronous upload (POST /_matrix/media/v1/create) is a row whose uploaded_ts is null until its
-- bytes arrive; it is forgotten once expires_ts passes unused.
create table media (
  origin text not null,
  media_id text not null,
  uploader text,
  created_ts bigint not null,
  expires_ts bigint,
  uploaded_ts bigint,
  content_type text,
  upload_name text,
  size_bytes bigint,
  sha256 text,
  primary key (origin, media_id)
);
create index media_pending_by_uploader on media (uploader, created_ts) where uploaded_ts is null;

-- Thumbnails made on demand, one per size and method (and animation) asked for.
create table media_thumbnails (
  origin text not null,
  media_id text not null,
  width integer not null,
  height integer not null,
  method text not null,
  animated boolean not null,
  content_type text not null,
  size_bytes bigint not null,
  sha256 text not null,
  primary key (origin, media_id, width, height, method, animated),
  foreign key (origin, media_id) references media (origin, media_id) on delete cascade
);
