-- Third-party identifiers a user bound to their account at an identity server through this homeserver
-- (POST /account/3pid/bind, src/users/threepid-bindings.ts): which identity server holds each binding, so
-- that /account/3pid/unbind, /account/3pid/delete and deactivation can undo it without being told where.
create table threepid_bindings (
  user_id text not null,
  medium text not null,
  address text not null,
  id_server text not null,
  primary key (user_id, medium, address, id_server)
);
