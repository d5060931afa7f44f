-- Media a server admin quarantined (Synapse's admin API, src/media/quarantine.ts): served to no one, here
-- or to other servers, whether or not this server holds a copy. Kept apart from the media table, so that
-- content not fetched yet can be quarantined before anyone asks for it.
create table media_quarantine (
  origin text not null,
  media_id text not null,
  quarantined_by text not null,
  quarantined_ts bigint not null,
  primary key (origin, media_id)
);
