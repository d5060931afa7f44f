-- Login tokens (POST /_matrix/client/v1/login/get_token, then POST /login with m.login.token): one login
-- each, for a short while. Only the SHA-256 is kept, as for access tokens; taking a token deletes its row,
-- so it works once whichever process serves the login. src/storage/login-tokens-store.ts implements
-- src/users/ports.ts on this table.
create table login_tokens (
  token_hash text primary key,
  user_id text not null references users (user_id),
  created_ts bigint not null,
  expires_ts bigint not null
);

create index login_tokens_expiry on login_tokens (expires_ts);
