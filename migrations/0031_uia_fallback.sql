-- The user-interactive auth fallback pages (src/users/uia-fallback.ts) complete a stage outside the request
-- that started the session: they need the session's flows, and for m.login.password whose password it
-- asks for (the user the operation is for; null for registration).
alter table uia_sessions add column flows text;
alter table uia_sessions add column subject text;
