import t from 'tap';
import sharp from 'sharp';
import { engines } from '../helpers/database.js';
import { quietLogger as quiet, registerWithSdk, sdk } from '../helpers/matrix-sdk.js';
import { startTestServer } from '../helpers/server.js';

/**
 * Media as matrix-js-sdk (Element's SDK) handles it: an upload through uploadContent, an avatar set to
 * its mxc URI, and the authenticated download and thumbnail URLs the SDK builds, fetched with the
 * access token as Element fetches them.
 */

async function loggedIn(baseUrl: string, username: string): Promise<sdk.MatrixClient> {
  await registerWithSdk(baseUrl, username, `${username} password`);
  const anonymous = sdk.createClient({ baseUrl, logger: quiet });
  const login = await anonymous.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: `${username} password` });
  return sdk.createClient({ baseUrl, logger: quiet, userId: login.user_id, accessToken: login.access_token, deviceId: login.device_id });
}

for (const engine of engines()) {
  t.test(`an avatar uploaded with matrix-js-sdk is seen by another user (${engine})`, async (t) => {
    const baseUrl = (await startTestServer(t, engine)).url;
    const alice = await loggedIn(baseUrl, 'alice');
    const bob = await loggedIn(baseUrl, 'bob');
    const avatar = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#36c' } }).png().toBuffer();

    const { content_uri: mxc } = await alice.uploadContent(avatar, { type: 'image/png', name: 'me.png' });
    t.match(mxc, /^mxc:\/\/hearth\.test\//);
    await alice.setAvatarUrl(mxc);
    t.equal((await bob.getProfileInfo(alice.getUserId()!)).avatar_url, mxc, 'the profile points at the upload');
    t.same(await bob.getMediaConfig(true), { 'm.upload.size': 52_428_800 }, 'the SDK reads the upload limit');

    const headers = { authorization: `Bearer ${bob.getAccessToken()}` };
    const full = bob.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true)!;
    t.match(full, `${baseUrl}/_matrix/client/v1/media/download/hearth.test/`);
    const download = await fetch(full, { headers });
    t.equal(download.status, 200);
    t.ok(Buffer.from(await download.arrayBuffer()).equals(avatar), 'the same picture');

    const thumbnailUrl = bob.mxcUrlToHttp(mxc, 32, 32, 'crop', false, true, true)!;
    t.match(thumbnailUrl, '/_matrix/client/v1/media/thumbnail/');
    const thumbnail = await fetch(thumbnailUrl, { headers });
    t.equal(thumbnail.status, 200);
    t.same(await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata().then((m) => [m.width, m.height]), [32, 32],
      'a 32x32 avatar thumbnail, as Element asks for in its member list');
  });
}

t.test('matrix-js-sdk\'s server discovery (what Element\'s login screen runs) accepts Hearth', async (t) => {
  const baseUrl = (await startTestServer(t, 'embedded')).url;
  const config = await sdk.AutoDiscovery.fromDiscoveryConfig({ 'm.homeserver': { base_url: baseUrl } });
  t.equal(config['m.homeserver'].state, sdk.AutoDiscovery.SUCCESS, String(config['m.homeserver'].error));
  t.equal(config['m.homeserver'].base_url, baseUrl);
  const client = sdk.createClient({ baseUrl, logger: quiet });
  t.equal(await client.isVersionSupported('v1.4'), true, 'server-side threads are on');
  t.equal(await client.doesServerSupportThread().then((support) => support.threads), sdk.FeatureSupport.Stable);
});
