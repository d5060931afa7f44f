import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_ROOM_VERSION, ROOM_VERSIONS } from '../../events/index.js';

/**
 * The configuration file's schema. Every key has a default so that `npm start` works on a fresh
 * machine; config.example.yaml documents the same keys (a test keeps the two in step). Keys are
 * snake_case like the YAML they come from, the way Synapse's homeserver.yaml reads.
 */

const NullableString = (options: { default: null; description: string }) =>
  Type.Union([Type.String({ minLength: 1 }), Type.Null()], options);

/** An identity provider's id: the spec's opaque identifier grammar. */
const IDP_ID_PATTERN = '^[A-Za-z0-9._~-]{1,255}$';

/** One rate-limit class: a token bucket per user (or per address, before sign-in). */
const RateLimit = (perSecond: number, burstCount: number, description: string) =>
  Type.Object(
    {
      per_second: Type.Number({ exclusiveMinimum: 0, default: perSecond }),
      burst_count: Type.Integer({ minimum: 1, default: burstCount }),
    },
    { additionalProperties: false, default: {}, description },
  );

export const ConfigSchema = Type.Object(
  {
    server_name: Type.String({
      minLength: 1,
      default: 'localhost:8008',
      description: 'The domain in user ids (@alice:SERVER_NAME). It cannot change once the database exists.',
    }),
    public_baseurl: NullableString({
      default: null,
      description: 'The URL clients reach this server at. null: http://localhost:PORT/.',
    }),
    listen: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '127.0.0.1' }),
        // 0 picks a free port (tests use it).
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8008 }),
        tls: Type.Union(
          [
            Type.Object(
              { cert_file: Type.String({ minLength: 1 }), key_file: Type.String({ minLength: 1 }) },
              { additionalProperties: false },
            ),
            Type.Null(),
          ],
          { default: null },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    data_dir: Type.String({ minLength: 1, default: './data' }),
    signing_key_path: NullableString({ default: null, description: 'null: DATA_DIR/signing.key' }),
    old_signing_keys: Type.Record(
      Type.String({ pattern: '^ed25519:[a-zA-Z0-9_]+$' }),
      Type.Object(
        { key: Type.String({ minLength: 1 }), expired_ts: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
      { default: {}, additionalProperties: false },
    ),
    key_valid_for_ms: Type.Integer({ minimum: 3_600_000, default: 86_400_000 }),
    enable_registration: Type.Boolean({
      default: false,
      description: 'Let anyone create an account with POST /register (Synapse\'s default is off too).',
    }),
    registration_shared_secret: NullableString({
      default: null,
      description: 'Secret for /_synapse/admin/v1/register (register_new_matrix_user); null: off.',
    }),
    registration_requires_email: Type.Boolean({
      default: false,
      description: 'POST /register asks every new account to validate an email address (m.login.email.identity); needs email.smtp_host.',
    }),
    registration_requires_token: Type.Boolean({
      default: false,
      description: 'POST /register also asks for a registration token (m.login.registration_token); admins make them.',
    }),
    // A version is text, but YAML and environment variables read `10` as a number: both are taken.
    default_room_version: Type.Union([...ROOM_VERSIONS.keys()].flatMap((id) => (/^[0-9]+$/.test(id) ? [Type.Literal(id), Type.Literal(Number(id))] : [Type.Literal(id)])), {
      default: DEFAULT_ROOM_VERSION,
      description: 'The version of rooms made without room_version (the spec recommends 12; servers that know only up to 11, sytest among them, cannot join those).',
    }),
    allow_guest_access: Type.Boolean({
      default: false,
      description: 'Let anyone get a guest account (POST /register?kind=guest), as Synapse\'s allow_guest_access.',
    }),
    access_token_lifetime_ms: Type.Integer({
      minimum: 60_000,
      default: 300_000,
      description: 'How long an access token lives when the client asked for a refresh token (Synapse: 5 minutes).',
    }),
    login_via_existing_session: Type.Object(
      {
        enabled: Type.Boolean({
          default: false,
          description: 'POST /login/get_token: a logged-in user gets a one-time m.login.token for another device (QR login), as Synapse\'s.',
        }),
        token_timeout_ms: Type.Integer({
          minimum: 10_000,
          default: 120_000,
          description: 'How long such a login token works (the spec recommends 2 minutes).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object(
      {
        url: NullableString({ default: null, description: 'postgres:// URL; null: embedded PGlite in DATA_DIR/db' }),
        pool_size: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 30,
          description: 'Connections kept open to PostgreSQL. Each send holds one for its transaction and each woken /sync reads on one: with 1000 syncing clients at 200 messages/s, 10 queued (p50 70-118 ms), 30 did not (p50 8-9 ms).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    redis: Type.Object(
      {
        url: NullableString({ default: null, description: 'redis:// URL; null: in-process bus (one process)' }),
        key_prefix: Type.String({ default: 'hearth:' }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          [
            Type.Literal('fatal'),
            Type.Literal('error'),
            Type.Literal('warn'),
            Type.Literal('info'),
            Type.Literal('debug'),
            Type.Literal('trace'),
            Type.Literal('silent'),
          ],
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        max_json_body_bytes: Type.Integer({ minimum: 1024, default: 10_485_760 }),
        trust_proxy: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    well_known: Type.Object(
      {
        client_base_url: NullableString({ default: null, description: 'null: public_baseurl' }),
        client_extra: Type.Record(Type.String({ pattern: '^[a-z0-9_-]+(\\.[a-z0-9_-]+)+$' }), Type.Unknown(), {
          default: {},
          additionalProperties: false,
        }),
        server: NullableString({ default: null, description: 'm.server delegation; null: answer 404' }),
        support: Type.Object(
          {
            contacts: Type.Array(
              Type.Object(
                {
                  matrix_id: Type.Optional(Type.String({ pattern: '^@' })),
                  email_address: Type.Optional(Type.String({ minLength: 3 })),
                  role: Type.String({ minLength: 1 }),
                },
                { additionalProperties: false },
              ),
              { default: [], description: 'Ways to reach the admins (/.well-known/matrix/support): matrix_id and/or email_address, with a role (m.role.admin, m.role.security).' },
            ),
            support_page: NullableString({ default: null, description: 'A page of help for this server\'s users.' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    media: Type.Object(
      {
        store_path: NullableString({ default: null, description: 'Where uploaded and fetched content is kept; null: DATA_DIR/media.' }),
        max_upload_size_bytes: Type.Integer({
          minimum: 1024,
          default: 52_428_800,
          description: 'The largest upload, and the largest content fetched from other servers (clients see it as m.upload.size).',
        }),
        max_pending_uploads: Type.Integer({
          minimum: 1,
          default: 5,
          description: 'Asynchronous uploads (POST /_matrix/media/v1/create) a user may have waiting for their content at once.',
        }),
        pending_upload_lifetime_ms: Type.Integer({
          minimum: 60_000,
          default: 86_400_000,
          description: 'How long an id from POST /_matrix/media/v1/create waits for its content.',
        }),
        fetch_remote: Type.Boolean({
          default: true,
          description: 'Fetch (and keep) other servers\' content that local users ask for; false: serve only this server\'s.',
        }),
        serve_unauthenticated: Type.Boolean({
          default: false,
          description:
            'Also serve downloads and thumbnails at the deprecated /_matrix/media/v3 paths, which need no access token. ' +
            'Matrix 1.12 asks servers to stop ("freeze" them); clients from before Matrix 1.11 and sytest need them.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    url_previews: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Answer GET /preview_url: the server fetches the pages users ask about (never private addresses unless allowed below). false: the endpoint answers 404 M_UNRECOGNIZED.',
        }),
        allow_private_addresses: Type.Boolean({
          default: false,
          description: 'Let previews fetch from loopback, private and link-local addresses (test networks, sytest). Off, they are refused after DNS resolution, IP literals and redirects included.',
        }),
        allowed_ip_ranges: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'CIDR ranges previews may reach even when private (an intranet to preview), e.g. 10.20.0.0/16.',
        }),
        denied_ip_ranges: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'CIDR ranges previews never reach, besides the private ones.',
        }),
        denied_hosts: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'Host names never previewed: "example.com" is that host, "*.example.com" its subdomains.',
        }),
        max_page_bytes: Type.Integer({ minimum: 1024, default: 10_485_760, description: 'The largest page or picture fetched for a preview.' }),
        timeout_ms: Type.Integer({ minimum: 1000, default: 15_000, description: 'How long one fetch (page or picture) may take.' }),
        cache_ms: Type.Integer({ minimum: 0, default: 3_600_000, description: 'How long a preview is kept and given to every client asking about the same URL.' }),
        accept_language: Type.String({ minLength: 1, default: 'en', description: 'The Accept-Language sent: which language sites answer in.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    presence: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Track and share presence; false: the endpoints still answer, and sync sends none.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    e2ee: Type.Object(
      {
        verify_device_keys: Type.Boolean({
          default: true,
          description:
            'POST /keys/upload refuses device keys not signed by the device\'s own ed25519 key (M_INVALID_SIGNATURE); ' +
            'false stores them unchecked, as Synapse does (sytest uploads placeholder keys).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    rate_limits: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'false: no request is ever rate limited (test servers, sytest).' }),
        message: RateLimit(0.2, 10, 'Sending messages, state events and redactions (Synapse rc_message).'),
        membership: RateLimit(0.1, 10, 'Joins, leaves, knocks, invites, kicks and bans (Synapse rc_joins.local).'),
        room_creation: RateLimit(0.2, 10, 'POST /createRoom (Synapse counts it as rc_message).'),
        login: RateLimit(0.17, 3, 'Login and token refresh per address; password change and deactivation per user.'),
        registration: RateLimit(0.17, 10, 'Registration requests per address: each sign-up takes two or three (the user-interactive steps), and availability checks count too.'),
        profile: RateLimit(0.2, 10, 'Display name and avatar changes.'),
        user_directory: RateLimit(1, 20, 'User directory searches.'),
        media_upload: RateLimit(10, 50, 'Media uploads and asynchronous upload ids (Synapse rc_media_create).'),
        url_preview: RateLimit(2, 30, 'URL previews (GET /preview_url): each one not kept yet makes the server fetch a page.'),
      },
      { additionalProperties: false, default: {} },
    ),
    app_service_config_files: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Application service (bridge) registration files (YAML, the spec\'s format), relative to this file. Read at start; a wrong one stops the start naming the file.',
    }),
    email: Type.Object(
      {
        smtp_host: NullableString({ default: null, description: 'The mail relay (SMTP, no TLS or login: a local relay) validation links of email addresses go through; null: no mail, so no addresses on accounts.' }),
        smtp_port: Type.Integer({ minimum: 1, maximum: 65535, default: 25 }),
        notif_from: NullableString({ default: null, description: 'From address of the mails; null: noreply@ the server name.' }),
      },
      { additionalProperties: false, default: {} },
    ),
    // Accepted so that test harnesses (sytest) and Synapse-style setups can pass it; Hearth does not act on it yet.
    sso: Type.Object(
      {
        client_whitelist: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'redirectUrl prefixes of trusted clients (e.g. https://app.element.io/): single sign-on sends their logins straight back, without the page asking the person whether to let the client in.',
        }),
        cas: Type.Object(
          {
            server_url: NullableString({ default: null, description: 'The CAS server (e.g. https://cas.example.com/cas), without a trailing slash; null: no CAS.' }),
            idp_id: Type.String({ pattern: IDP_ID_PATTERN, default: 'cas', description: 'Its id in GET /login\'s identity_providers.' }),
            idp_name: Type.String({ minLength: 1, default: 'CAS', description: 'Its name on the sign-in buttons.' }),
            idp_brand: NullableString({ default: null, description: 'Brand hint for clients (the spec\'s idp-brands registry).' }),
            idp_icon: NullableString({ default: null, description: 'mxc:// URI of its icon.' }),
            displayname_attribute: NullableString({ default: null, description: 'The CAS attribute a new account takes its display name from; null: none.' }),
            required_attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]), {
              default: {},
              description: 'Attributes a person must have to sign in: name: value, or name: null for any value.',
            }),
            allow_existing_users: Type.Boolean({
              default: false,
              description: 'A first sign-in whose CAS user name is an existing account\'s localpart signs in as that account (else a new account, with a number appended).',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
        oidc_providers: Type.Array(
          Type.Object(
            {
              idp_id: Type.String({ pattern: IDP_ID_PATTERN }),
              idp_name: Type.String({ minLength: 1 }),
              idp_brand: Type.Optional(Type.String({ minLength: 1 })),
              idp_icon: Type.Optional(Type.String({ minLength: 1 })),
              issuer: Type.String({ minLength: 1 }),
              client_id: Type.String({ minLength: 1 }),
              client_secret: Type.Optional(Type.String({ minLength: 1 })),
              client_auth_method: Type.Optional(Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('none')])),
              scopes: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
              discover: Type.Optional(Type.Boolean()),
              authorization_endpoint: Type.Optional(Type.String({ minLength: 1 })),
              token_endpoint: Type.Optional(Type.String({ minLength: 1 })),
              userinfo_endpoint: Type.Optional(Type.String({ minLength: 1 })),
              subject_claim: Type.Optional(Type.String({ minLength: 1 })),
              localpart_claim: Type.Optional(Type.String({ minLength: 1 })),
              display_name_claim: Type.Optional(Type.String({ minLength: 1 })),
              allow_existing_users: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            description: 'OpenID Connect providers (Keycloak, Authentik, GitLab, Google...): see the README for their keys.',
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    recaptcha: Type.Object(
      {
        public_key: NullableString({ default: null, description: 'reCAPTCHA (v2) site key, which clients show the widget with.' }),
        private_key: NullableString({ default: null, description: 'reCAPTCHA secret key, which the answers are checked with.' }),
        siteverify_api: Type.String({ minLength: 1, default: 'https://www.recaptcha.net/recaptcha/api/siteverify' }),
        require_for_registration: Type.Boolean({
          default: false,
          description: 'Registration asks for a solved captcha (m.login.recaptcha) before its other stages; needs both keys.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    federation: Type.Object(
      {
        ca_files: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'PEM files of extra certificate authorities trusted (beside the system ones) for outbound federation.',
        }),
        verify_tls: Type.Boolean({ default: true, description: 'false: accept any certificate from other servers (test networks).' }),
        allow_private_addresses: Type.Boolean({
          default: false,
          description: 'Let outbound requests (federation, and push gateways) reach loopback, private and link-local addresses (test networks, sytest); false refuses them after DNS resolution, IP literals included.',
        }),
        trusted_key_servers: Type.Array(
          Type.Object(
            {
              server_name: Type.String({ minLength: 1 }),
              verify_keys: Type.Optional(
                Type.Record(Type.String({ pattern: '^ed25519:[a-zA-Z0-9_]+$' }), Type.String({ minLength: 1 }), { additionalProperties: false }),
              ),
            },
            { additionalProperties: false },
          ),
          {
            default: [],
            description:
              'Notaries asked (POST /_matrix/key/v2/query) for a server\'s keys when the server does not give them itself; ' +
              'verify_keys pins the notary\'s own keys (key id to unpadded base64), else they are fetched from it.',
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
