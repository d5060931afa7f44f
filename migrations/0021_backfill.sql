-- Events backfilled from other servers (src/federation/backfill.ts) are older than every event this
-- server saw arrive, so they take negative stream positions: -nextval of this sequence, each batch below
-- the one before. Sync reads only positions above its token, which is never negative, so it never sees
-- them; /messages pages down into them.
create sequence events_backfill_seq;
