-- A user-interactive auth session someone tried to complete as another person (single sign-on at the
-- provider as someone else): the reason is kept, and the operation is refused (403) for the rest of the
-- session, as Synapse does, rather than left open for another try (src/users/uia.ts).
alter table uia_sessions add column refused text;
