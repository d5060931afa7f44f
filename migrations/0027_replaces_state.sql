-- The state event each state event replaced: the event at its (type, state_key) in the state before it.
-- Clients are served its content as unsigned.prev_content (a display name change reads as one, not as a
-- join) and its id as unsigned.replaces_state. Filled when an event joins the timeline; null for message
-- events, for state events that replaced nothing, and for events stored before this column existed.
alter table events add column replaces_state text;
