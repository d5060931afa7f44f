import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

/**
 * A stand-in identity provider on a loopback port, for single sign-on tests: a CAS server (/cas/login,
 * /cas/proxyValidate) and an OpenID Connect provider (discovery, /authorize, /token, /userinfo) that
 * checks what a real one checks (client authentication, redirect URI, PKCE verifier). The test plays the
 * person at the login page: `people` says who signs in with which ticket or code.
 */

export interface FakePerson {
  readonly sub: string;
  readonly preferred_username?: string;
  readonly name?: string;
  readonly email?: string;
  readonly email_verified?: boolean;
}

export interface FakeIdp {
  readonly url: string;
  readonly issuer: string;
  /** CAS: the person each ticket vouches for (attributes too). */
  readonly casTickets: Map<string, { readonly user: string; readonly attributes?: Readonly<Record<string, string>> }>;
  /** The service URLs /cas/proxyValidate was asked about. */
  readonly casValidations: string[];
  /** OpenID Connect: the authorization requests seen (their query), newest last. */
  readonly authorizations: URLSearchParams[];
  /** Issues a code for the newest authorization request, as the provider does once the person signs in. */
  codeFor(person: FakePerson): string;
  /** What the token endpoint refused, newest last. */
  readonly tokenRefusals: string[];
}

const CLIENT_ID = 'hearth-test';
export const FAKE_CLIENT_SECRET = 'fake secret';

function send(res: ServerResponse, status: number, body: string, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const unsignedJwt = (claims: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;

export async function startFakeIdp(t: Test): Promise<FakeIdp> {
  const codes = new Map<string, { person: FakePerson; authorization: URLSearchParams }>();
  const accessTokens = new Map<string, FakePerson>();
  let issuer = '';
  const idp = {
    url: '',
    issuer: '',
    casTickets: new Map(),
    casValidations: [] as string[],
    authorizations: [] as URLSearchParams[],
    tokenRefusals: [] as string[],
    codeFor(person: FakePerson) {
      const authorization = idp.authorizations.at(-1);
      if (authorization === undefined) throw new Error('no authorization request yet');
      const code = `code-${codes.size + 1}`;
      codes.set(code, { person, authorization });
      return code;
    },
  } satisfies FakeIdp as FakeIdp & { url: string; issuer: string };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', idp.url);
      if (url.pathname === '/cas/proxyValidate') {
        idp.casValidations.push(url.searchParams.get('service') ?? '');
        const ticket = idp.casTickets.get(url.searchParams.get('ticket') ?? '');
        if (ticket === undefined) {
          return send(res, 200, `<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationFailure code="INVALID_TICKET">Ticket not recognized</cas:authenticationFailure></cas:serviceResponse>`, 'text/xml');
        }
        const attributes = Object.entries(ticket.attributes ?? {}).map(([name, value]) => `<cas:${name}>${value}</cas:${name}>`).join('');
        return send(res, 200, `<?xml version="1.0"?>
<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas">
  <cas:authenticationSuccess>
    <cas:user>${ticket.user}</cas:user>
    <cas:attributes>${attributes}</cas:attributes>
  </cas:authenticationSuccess>
</cas:serviceResponse>`, 'text/xml');
      }
      if (url.pathname === '/oidc/.well-known/openid-configuration') {
        return send(res, 200, JSON.stringify({
          issuer,
          authorization_endpoint: `${idp.url}/oidc/authorize`,
          token_endpoint: `${idp.url}/oidc/token`,
          userinfo_endpoint: `${idp.url}/oidc/userinfo`,
        }));
      }
      if (url.pathname === '/oidc/authorize') {
        idp.authorizations.push(url.searchParams);
        return send(res, 200, '<p>Sign in</p>', 'text/html');
      }
      if (url.pathname === '/oidc/token' && req.method === 'POST') {
        const form = new URLSearchParams(await bodyOf(req));
        const refuse = (why: string) => {
          idp.tokenRefusals.push(why);
          send(res, 400, JSON.stringify({ error: 'invalid_grant', error_description: why }));
        };
        const basic = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(FAKE_CLIENT_SECRET)}`).toString('base64')}`;
        if (req.headers.authorization !== basic) return refuse('client authentication');
        const issued = codes.get(form.get('code') ?? '');
        if (issued === undefined) return refuse('unknown code');
        codes.delete(form.get('code') ?? '');
        if (form.get('redirect_uri') !== issued.authorization.get('redirect_uri')) return refuse('redirect_uri');
        const challenge = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        if (challenge !== issued.authorization.get('code_challenge')) return refuse('code_verifier');
        const accessToken = `at-${accessTokens.size + 1}`;
        accessTokens.set(accessToken, issued.person);
        const now = Math.floor(Date.now() / 1000);
        return send(res, 200, JSON.stringify({
          access_token: accessToken,
          token_type: 'Bearer',
          id_token: unsignedJwt({ iss: issuer, aud: CLIENT_ID, sub: issued.person.sub, iat: now, exp: now + 300, nonce: issued.authorization.get('nonce') }),
        }));
      }
      if (url.pathname === '/oidc/userinfo') {
        const person = accessTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
        if (person === undefined) return send(res, 401, JSON.stringify({ error: 'invalid_token' }));
        return send(res, 200, JSON.stringify(person));
      }
      send(res, 404, '{}');
    })();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  idp.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${idp.url}/oidc`;
  idp.issuer = issuer;
  return idp;
}

/** The config of a Hearth that signs people in at the fake provider (as CAS `cas` and OpenID Connect `fake`). */
export function fakeIdpConfig(idp: FakeIdp, extra: { readonly clientWhitelist?: readonly string[]; readonly allowExistingUsers?: boolean } = {}): string {
  return [
    'sso:',
    `  client_whitelist: ${JSON.stringify(extra.clientWhitelist ?? [])}`,
    `  cas: { server_url: "${idp.url}/cas", displayname_attribute: displayName }`,
    '  oidc_providers:',
    `    - { idp_id: fake, idp_name: Fake ID, idp_brand: fakebrand, issuer: "${idp.issuer}", client_id: ${CLIENT_ID}, client_secret: "${FAKE_CLIENT_SECRET}", allow_existing_users: ${extra.allowExistingUsers ?? false} }`,
  ].join('\n');
}
