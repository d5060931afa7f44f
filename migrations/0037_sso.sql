-- Single sign-on (src/users/sso/): which account a person known to an external identity provider (CAS,
-- OpenID Connect) signs in as, and the sign-ins under way between the redirect to a provider and its
-- answer. src/storage/sso-store.ts implements src/users/ports.ts on these tables.
create table sso_identities (
  -- The provider's id as GET /login lists it in identity_providers.
  provider text not null,
  -- The provider's stable name for the person (CAS's user, OpenID Connect's sub claim).
  subject text not null,
  user_id text not null references users (user_id),
  created_ts bigint not null,
  primary key (provider, subject)
);

create index sso_identities_user on sso_identities (user_id);

-- Only the SHA-256 of a sign-in's state is kept: the state itself travels in the provider's redirect and
-- in a cookie of the browser that started the sign-in, and proves the answer belongs to that browser.
create table sso_sign_ins (
  state_hash text primary key,
  provider text not null,
  -- Logging in: the client's redirectUrl. Confirming an operation (user-interactive auth): its session.
  redirect_url text,
  uia_session text,
  -- OpenID Connect's PKCE verifier (RFC 7636): the token endpoint asks for it with the code. It is no use
  -- without that code, and the row goes when the answer comes back or the sign-in is ten minutes old.
  code_verifier text,
  created_ts bigint not null,
  check ((redirect_url is null) <> (uia_session is null))
);

create index sso_sign_ins_created on sso_sign_ins (created_ts);
