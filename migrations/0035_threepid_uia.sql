-- A validation session that completed a user-interactive auth stage (m.login.email.identity when
-- registering): the registration adds its address to the new account.
alter table threepid_validation_sessions add column uia_session text;
create index threepid_validation_sessions_by_uia on threepid_validation_sessions (uia_session) where uia_session is not null;
