import t from 'tap';
import { clientRegistry, quietLogger as quiet, sdk } from '../helpers/matrix-sdk.js';
import { engines } from '../helpers/database.js';
import { fakeIdpConfig, startFakeIdp } from '../helpers/fake-idp.js';
import { freePort, startTestServer } from '../helpers/server.js';

/**
 * Single sign-on as matrix-js-sdk (Element's SDK) does it, over real HTTP: the client reads the providers
 * from GET /login, sends the "browser" (fetch, cookies kept by hand) to getSsoLoginUrl, the person signs in
 * at the provider (a stand-in on loopback), the browser comes back to the client's redirectUrl with a
 * login token, and the client logs in with it and syncs.
 */

const clients = clientRegistry();

for (const engine of engines()) {
  t.test(`matrix-js-sdk logs in through an OpenID Connect provider [${engine}]`, async (t) => {
    t.teardown(() => clients.stopAll());
    const idp = await startFakeIdp(t);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const server = await startTestServer(t, engine, [`listen: { host: 127.0.0.1, port: ${port} }`, `public_baseurl: "${baseUrl}/"`, fakeIdpConfig(idp)].join('\n'));
    t.equal(server.url, baseUrl);

    const anonymous = sdk.createClient({ baseUrl, logger: quiet });
    const { flows } = await anonymous.loginFlows();
    const ssoFlow = flows.find((flow): flow is sdk.SSOFlow => flow.type === 'm.login.sso');
    t.same(ssoFlow?.identity_providers?.map((idp) => idp.id), ['cas', 'fake'], 'the providers, one button each');

    // The browser: to Hearth, which sends it to the provider with a cookie of its own.
    const redirectUrl = 'https://client.example/#/login';
    const toProvider = await fetch(anonymous.getSsoLoginUrl(redirectUrl, 'sso', 'fake'), { redirect: 'manual' });
    t.equal(toProvider.status, 302);
    const cookie = (toProvider.headers.get('set-cookie') ?? '').split(';')[0]!;
    await fetch(toProvider.headers.get('location')!);
    // The person signs in; the provider sends the browser back to Hearth, which asks before going on.
    const authorization = idp.authorizations.at(-1)!;
    const callback = new URL(authorization.get('redirect_uri')!);
    callback.searchParams.set('code', idp.codeFor({ sub: 'u-77', preferred_username: 'Erin', name: 'Erin Example' }));
    callback.searchParams.set('state', authorization.get('state')!);
    const page = await fetch(callback, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
    t.equal(page.status, 200);
    const href = /<a id="continue" href="([^"]+)"/.exec(await page.text())?.[1]?.replace(/&#38;/g, '&');
    t.ok(href?.startsWith('https://client.example/?loginToken='), 'continuing goes to the client with a login token');
    const loginToken = new URL(href!).searchParams.get('loginToken')!;

    const login = await anonymous.loginWithToken(loginToken);
    t.equal(login.user_id, '@erin:hearth.test');
    const erin = clients.add(sdk.createClient({ baseUrl, logger: quiet, userId: login.user_id, accessToken: login.access_token, deviceId: login.device_id }));
    await erin.startClient({ initialSyncLimit: 5 });
    const { room_id: roomId } = await erin.createRoom({ name: 'signed in by SSO' });
    await new Promise<void>((resolve) => {
      const check = () => {
        if (erin.getRoom(roomId)?.name === 'signed in by SSO') resolve();
      };
      erin.on(sdk.ClientEvent.Sync, check);
      erin.on(sdk.RoomEvent.Name, check);
      check();
    });
    t.equal((await erin.getProfileInfo(login.user_id)).displayname, 'Erin Example', 'the name the provider gave');
  });
}
