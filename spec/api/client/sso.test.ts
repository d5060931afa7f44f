import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { engines, type Engine } from '../../helpers/database.js';
import { fakeIdpConfig, startFakeIdp, type FakeIdp, type FakePerson } from '../../helpers/fake-idp.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * Single sign-on through the real server: GET /login's flows, logging in at a CAS server and at an
 * OpenID Connect provider (a stand-in on a loopback port), the page that asks before handing the login to
 * the client, trusted clients, the errors, and confirming an operation (m.login.sso) as an account that
 * has no password.
 */

const BASE = 'https://hearth.test';
const CLIENT = 'https://client.example/app?p=http%3A%2F%2Fserver';
const HTML = { accept: 'text/html,application/xhtml+xml' };

async function startHearth(t: Test, engine: Engine, idp: FakeIdp, extra: Parameters<typeof fakeIdpConfig>[1] = {}) {
  return startTestServer(t, engine, [`public_baseurl: "${BASE}/"`, fakeIdpConfig(idp, extra)].join('\n'));
}

/** The path and query of a URL on this server, for inject. */
function local(url: string): string {
  t.ok(url.startsWith(`${BASE}/`), `${url} is on this server`);
  return url.slice(BASE.length);
}

function loginTokenIn(html: string): string | undefined {
  const href = /<a id="continue" href="([^"]+)"/.exec(html)?.[1]?.replace(/&#38;/g, '&');
  return href === undefined ? undefined : (new URL(href).searchParams.get('loginToken') ?? undefined);
}

async function loginWith(app: FastifyInstance, token: string) {
  return app.inject({ method: 'POST', url: '/_matrix/client/v3/login', payload: { type: 'm.login.token', token } });
}

/** A CAS sign-in from GET /login/sso/redirect/cas to the confirmation page. */
async function casSignIn(app: FastifyInstance, idp: FakeIdp, ticket: string) {
  const start = await app.inject({ method: 'GET', url: `/_matrix/client/v3/login/sso/redirect/cas?redirectUrl=${encodeURIComponent(CLIENT)}` });
  const location = new URL(String(start.headers.location));
  const service = location.searchParams.get('service') ?? '';
  return { start, service, page: await app.inject({ method: 'GET', url: local(`${service}&ticket=${ticket}`), headers: HTML }) };
}

/** An OpenID Connect sign-in from the redirect to the provider's callback, as `person`. */
async function oidcSignIn(app: FastifyInstance, idp: FakeIdp, person: FakePerson, redirectUrl = CLIENT) {
  const start = await app.inject({ method: 'GET', url: `/_matrix/client/v3/login/sso/redirect/fake?redirectUrl=${encodeURIComponent(redirectUrl)}` });
  const cookie = String(start.headers['set-cookie']).split(';')[0]!;
  await fetch(String(start.headers.location));
  const authorization = idp.authorizations.at(-1)!;
  const callback = `${local(authorization.get('redirect_uri')!)}?code=${idp.codeFor(person)}&state=${encodeURIComponent(authorization.get('state')!)}`;
  return { start, cookie, callback, page: await app.inject({ method: 'GET', url: callback, headers: { ...HTML, cookie } }) };
}

for (const engine of engines()) {
  t.test(`${engine}: GET /login lists the providers`, async (t) => {
    const idp = await startFakeIdp(t);
    const server = await startHearth(t, engine, idp);
    const flows = (await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/login' })).json().flows as { type: string }[];
    t.same(flows, [
      { type: 'm.login.password' },
      {
        type: 'm.login.sso',
        identity_providers: [
          { id: 'cas', name: 'CAS' },
          { id: 'fake', name: 'Fake ID', brand: 'fakebrand' },
        ],
      },
      { type: 'm.login.cas' },
      { type: 'm.login.token' },
    ]);
    const capabilities = await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/login/get_token' });
    t.equal(capabilities.statusCode, 404, 'single sign-on alone does not open POST /login/get_token');
  });

  t.test(`${engine}: CAS: a first sign-in makes the account, a second signs in to it`, async (t) => {
    const idp = await startFakeIdp(t);
    const server = await startHearth(t, engine, idp);
    idp.casTickets.set('ST-1', { user: 'Cas_User!', attributes: { displayName: 'Cas &amp; User' } });
    const { start, service, page } = await casSignIn(server.app, idp, 'ST-1');
    t.equal(start.statusCode, 302);
    t.ok(String(start.headers.location).startsWith(`${idp.url}/cas/login?service=`));
    t.equal(service, `${BASE}/_matrix/client/r0/login/cas/ticket?redirectUrl=https%3A%2F%2Fclient.example%2Fapp%3Fp%3Dhttp%253A%252F%252Fserver`);
    t.same(idp.casValidations, [service], 'the ticket is validated for the same service');
    t.equal(page.statusCode, 200);
    t.match(page.body, /Continue to client\.example/, 'the page names the client the login goes to');
    const token = loginTokenIn(page.body);
    t.ok(token, 'the continue link carries the login token');
    t.match(page.body, /href="https:\/\/client\.example\/app\?p=http%3A%2F%2Fserver&#38;loginToken=/, 'added to the client\'s own query');

    const login = await loginWith(server.app, token!);
    t.equal(login.statusCode, 200);
    t.equal(login.json().user_id, '@cas_user=21:hearth.test', 'the spec\'s mapping of other character sets');
    t.equal((await loginWith(server.app, token!)).json().errcode, 'M_FORBIDDEN', 'a login token works once');
    const profile = await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/profile/@cas_user=21:hearth.test/displayname' });
    t.equal(profile.json().displayname, 'Cas & User', 'the display name comes from the configured attribute');

    idp.casTickets.set('ST-2', { user: 'Cas_User!' });
    const again = await casSignIn(server.app, idp, 'ST-2');
    t.equal((await loginWith(server.app, loginTokenIn(again.page.body)!)).json().user_id, '@cas_user=21:hearth.test', 'the same person, the same account');

    const refused = await casSignIn(server.app, idp, 'ST-forged');
    t.equal(refused.page.statusCode, 403);
    t.match(refused.page.body, /The CAS server refused the ticket: Ticket not recognized/);
    const json = await server.app.inject({ method: 'GET', url: local(`${refused.service}&ticket=ST-forged`) });
    t.equal(json.json().errcode, 'M_FORBIDDEN', 'anything but a browser gets JSON');

    const legacy = await server.app.inject({ method: 'GET', url: `/_matrix/client/v3/login/cas/redirect?redirectUrl=${encodeURIComponent(CLIENT)}` });
    t.equal(legacy.statusCode, 302, 'the deprecated m.login.cas redirect goes to the CAS server too');
    t.ok(String(legacy.headers.location).startsWith(`${idp.url}/cas/login?service=`));
  });

  t.test(`${engine}: OpenID Connect: code flow with PKCE, state bound to the browser`, async (t) => {
    const idp = await startFakeIdp(t);
    const server = await startHearth(t, engine, idp);
    const alice = { sub: 'f1d2', preferred_username: 'Alice', name: 'Alice Liddell', email: 'Alice@Example.org', email_verified: true };
    const { start, cookie, callback, page } = await oidcSignIn(server.app, idp, alice);
    t.equal(start.statusCode, 302);
    const authorization = idp.authorizations.at(-1)!;
    t.equal(authorization.get('response_type'), 'code');
    t.equal(authorization.get('client_id'), 'hearth-test');
    t.equal(authorization.get('redirect_uri'), `${BASE}/_hearth/client/sso/oidc/callback`);
    t.equal(authorization.get('scope'), 'openid profile');
    t.equal(authorization.get('code_challenge_method'), 'S256');
    t.match(String(start.headers['set-cookie']), /HttpOnly; SameSite=Lax; Secure/);
    t.equal(page.statusCode, 200, page.body);
    t.same(idp.tokenRefusals, []);
    const login = await loginWith(server.app, loginTokenIn(page.body)!);
    t.equal(login.json().user_id, '@alice:hearth.test', 'the localpart from preferred_username');
    const profile = await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/profile/@alice:hearth.test/displayname' });
    t.equal(profile.json().displayname, 'Alice Liddell');
    const aliceAuth = { authorization: `Bearer ${login.json().access_token as string}` };
    const threepids = await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/account/3pid', headers: aliceAuth });
    t.match(threepids.json().threepids, [{ medium: 'email', address: 'alice@example.org' }], 'the address the provider verified goes on the new account');
    await server.database.sql`update users set admin = true where user_id = '@alice:hearth.test'`;
    const view = await server.app.inject({
      method: 'GET',
      url: '/_synapse/admin/v2/users/@alice:hearth.test',
      headers: { authorization: `Bearer ${login.json().access_token as string}` },
    });
    t.same(view.json().external_ids, [{ auth_provider: 'fake', external_id: 'f1d2' }], 'the admin API shows whom the account is at the provider');

    const replay = await server.app.inject({ method: 'GET', url: callback, headers: { ...HTML, cookie } });
    t.equal(replay.statusCode, 403, 'a state works once');

    const other = await oidcSignIn(server.app, idp, { sub: 'b0b0', preferred_username: 'alice', email: 'bob@example.org', email_verified: false });
    const otherLogin = (await loginWith(server.app, loginTokenIn(other.page.body)!)).json() as { user_id: string; access_token: string };
    t.equal(otherLogin.user_id, '@alice1:hearth.test', 'another person of the same name gets a numbered one');
    const otherThreepids = await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/account/3pid', headers: { authorization: `Bearer ${otherLogin.access_token}` } });
    t.same(otherThreepids.json().threepids, [], 'an address the provider did not verify is not kept');
    const same = await oidcSignIn(server.app, idp, { ...alice, preferred_username: 'renamed' });
    t.equal((await loginWith(server.app, loginTokenIn(same.page.body)!)).json().user_id, '@alice:hearth.test', 'the subject, not the name, says who it is');

    // The answer must come back to the browser that left.
    const start2 = await server.app.inject({ method: 'GET', url: `/_matrix/client/v3/login/sso/redirect/fake?redirectUrl=${encodeURIComponent(CLIENT)}` });
    await fetch(String(start2.headers.location));
    const auth2 = idp.authorizations.at(-1)!;
    const foreign = await server.app.inject({
      method: 'GET',
      url: `/_hearth/client/sso/oidc/callback?code=${idp.codeFor(alice)}&state=${encodeURIComponent(auth2.get('state')!)}`,
      headers: { ...HTML, cookie: 'hearth_sso_state=someone-elses' },
    });
    t.equal(foreign.statusCode, 403);
    t.match(foreign.body, /not started in this browser/);

    const declined = await server.app.inject({
      method: 'GET',
      url: `/_hearth/client/sso/oidc/callback?error=access_denied&state=${encodeURIComponent(auth2.get('state')!)}`,
      headers: { ...HTML, cookie: `hearth_sso_state=${encodeURIComponent(auth2.get('state')!)}` },
    });
    t.equal(declined.statusCode, 403);
    t.match(declined.body, /Fake ID did not sign you in \(you \(or it\) declined\)/);
  });

  t.test(`${engine}: trusted clients, and what is refused`, async (t) => {
    const idp = await startFakeIdp(t);
    const server = await startHearth(t, engine, idp, { clientWhitelist: ['https://client.example/'] });
    const { page } = await oidcSignIn(server.app, idp, { sub: 'x1', preferred_username: 'carol' }, `${CLIENT}#/home`);
    t.equal(page.statusCode, 302, 'a trusted client gets the browser back at once');
    const location = String(page.headers.location);
    t.match(location, /^https:\/\/client\.example\/app\?p=http%3A%2F%2Fserver&loginToken=[^&#]+#\/home$/);
    t.equal((await loginWith(server.app, new URL(location).searchParams.get('loginToken')!)).json().user_id, '@carol:hearth.test');

    const noUrl = await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/login/sso/redirect/fake' });
    t.equal(noUrl.statusCode, 400);
    t.equal(noUrl.json().errcode, 'M_MISSING_PARAM');
    const badUrl = await server.app.inject({ method: 'GET', url: '/_matrix/client/v3/login/sso/redirect/fake?redirectUrl=not-a-url' });
    t.equal(badUrl.json().errcode, 'M_INVALID_PARAM');
    const unknown = await server.app.inject({ method: 'GET', url: `/_matrix/client/v3/login/sso/redirect/github?redirectUrl=${encodeURIComponent(CLIENT)}`, headers: HTML });
    t.equal(unknown.statusCode, 404);
    t.match(unknown.body, /no single sign-on provider github/);
    const chooser = await server.app.inject({ method: 'GET', url: `/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent(CLIENT)}` });
    t.equal(chooser.statusCode, 200, 'with two providers and none chosen, a page to choose on');
    t.match(chooser.body, /href="\/_matrix\/client\/v3\/login\/sso\/redirect\/fake\?redirectUrl=https%3A%2F%2Fclient.example/);
    t.match(chooser.body, /Continue with CAS/);
  });

  t.test(`${engine}: an account without a password confirms operations at its provider (m.login.sso)`, async (t) => {
    const idp = await startFakeIdp(t);
    const server = await startHearth(t, engine, idp);
    const dave = { sub: 'd4', preferred_username: 'dave' };
    const first = await oidcSignIn(server.app, idp, dave);
    const session = (await loginWith(server.app, loginTokenIn(first.page.body)!)).json() as { access_token: string; device_id: string };
    const second = await oidcSignIn(server.app, idp, dave);
    const other = (await loginWith(server.app, loginTokenIn(second.page.body)!)).json() as { device_id: string };
    const auth = { authorization: `Bearer ${session.access_token}` };

    const del = (body: object) => server.app.inject({ method: 'DELETE', url: `/_matrix/client/v3/devices/${other.device_id}`, headers: auth, payload: body });
    const asked = await del({});
    t.equal(asked.statusCode, 401);
    t.same(asked.json().flows, [{ stages: ['m.login.password'] }, { stages: ['m.login.sso'] }], 'm.login.sso beside the password');
    const uiaSession = asked.json().session as string;
    const inBand = await del({ auth: { type: 'm.login.sso', session: uiaSession } });
    t.match(inBand.json().error, /fallback page/, 'm.login.sso is done on its fallback page');

    const fallback = await server.app.inject({ method: 'GET', url: `/_matrix/client/v3/auth/m.login.sso/fallback/web?session=${uiaSession}`, headers: HTML });
    t.equal(fallback.statusCode, 200);
    t.match(fallback.body, /Confirm it is you/);
    const confirmHref = /href="(\/_hearth\/client\/sso\/confirm\?[^"]+)"/.exec(fallback.body)?.[1]?.replace(/&#38;/g, '&');
    t.ok(confirmHref, 'a link per provider the account signs in with');
    const toIdp = await server.app.inject({ method: 'GET', url: confirmHref! });
    t.equal(toIdp.statusCode, 302);
    const cookie = String(toIdp.headers['set-cookie']).split(';')[0]!;
    await fetch(String(toIdp.headers.location));
    const authorization = idp.authorizations.at(-1)!;
    const state = encodeURIComponent(authorization.get('state')!);

    // Someone else signing in at the provider cannot confirm for dave: the operation is refused outright.
    const wrong = await server.app.inject({ method: 'GET', url: `/_hearth/client/sso/oidc/callback?code=${idp.codeFor({ sub: 'e5' })}&state=${state}`, headers: { ...HTML, cookie } });
    t.equal(wrong.statusCode, 200, 'the page says so, and tells the app to retry');
    t.match(wrong.body, /Refused.*as someone other than @dave:hearth\.test; the operation is refused/s);
    t.match(wrong.body, /postMessage\('authDone'/);
    t.match(await del({ auth: { session: uiaSession } }), { statusCode: 403 }, 'the retry is refused');
    t.match((await del({ auth: { session: uiaSession } })).json(), { errcode: 'M_FORBIDDEN', error: /as someone other than/ });

    const restart = await del({});
    const secondSession = restart.json().session as string;
    const secondFallback = await server.app.inject({ method: 'GET', url: `/_matrix/client/v3/auth/m.login.sso/fallback/web?session=${secondSession}`, headers: HTML });
    const secondHref = /href="(\/_hearth\/client\/sso\/confirm\?[^"]+)"/.exec(secondFallback.body)?.[1]?.replace(/&#38;/g, '&');
    const again = await server.app.inject({ method: 'GET', url: secondHref! });
    await fetch(String(again.headers.location));
    const state2 = encodeURIComponent(idp.authorizations.at(-1)!.get('state')!);
    const confirmed = await server.app.inject({
      method: 'GET',
      url: `/_hearth/client/sso/oidc/callback?code=${idp.codeFor(dave)}&state=${state2}`,
      headers: { ...HTML, cookie: String(again.headers['set-cookie']).split(';')[0]! },
    });
    t.equal(confirmed.statusCode, 200);
    t.match(confirmed.body, /authDone\(\);/, 'the page tells the client, the spec\'s way');
    const done = await del({ auth: { session: secondSession } });
    t.equal(done.statusCode, 200, 'the retry with the session alone goes through');

    const password = await server.app.inject({
      method: 'POST',
      url: '/_matrix/client/v3/login',
      payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'dave' }, password: 'guess' },
    });
    t.equal(password.json().errcode, 'M_FORBIDDEN', 'an account made by single sign-on has no password to log in with');
  });
}
