-- The sync stream window (src/storage/stream-window.ts) reads each new event's transaction with it, so a
-- sender's own sync learns its transaction ids without a statement of its own: looked up by event id.
create index event_transactions_event on event_transactions (event_id);
