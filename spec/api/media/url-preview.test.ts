import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { engines } from '../../helpers/database.js';
import { quietLogger, registerWithSdk, sdk } from '../../helpers/matrix-sdk.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * URL previews over real HTTP: a page on a little site of the test's own (on loopback, which the server
 * must be told it may reach), its OpenGraph data and picture, kept and served again without a second
 * fetch; and the refusals: private addresses by default, denied hosts, bad URLs, failing sites.
 */

interface Site {
  readonly base: string;
  /** Requests per path so far. */
  readonly hits: Map<string, number>;
  readonly picture: Buffer;
}

async function startSite(t: Test): Promise<Site> {
  const picture = await sharp({ create: { width: 279, height: 129, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer();
  const hits = new Map<string, number>();
  const page = (title: string, image: string) => `<!doctype html>
<html prefix="og: http://ogp.me/ns#"><head>
<title>Ignored when og:title is given</title>
<meta property="og:title" content="${title}" />
<meta property="og:type" content="video.movie" />
<meta property="og:url" content="http://www.imdb.com/title/tt0117500/" />
<meta property="og:description" content="A film &amp; a rock" />
<meta property="og:image" content="${image}" />
</head><body><p>hello</p></body></html>`;
  const routes: Record<string, (response: ServerResponse) => void> = {
    '/films/rock.html': (response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page('The Rock', 'pictures/rock.png')),
    '/films/pictures/rock.png': (response) => response.writeHead(200, { 'content-type': 'image/png' }).end(picture),
    '/moved': (response) => response.writeHead(302, { location: '/films/rock.html' }).end(),
    '/loop': (response) => response.writeHead(302, { location: '/loop' }).end(),
    '/photo.png': (response) => response.writeHead(200, { 'content-type': 'image/png' }).end(picture),
    '/paper.pdf': (response) => response.writeHead(200, { 'content-type': 'application/pdf' }).end('%PDF-1.4'),
    '/broken-picture.html': (response) => response.writeHead(200, { 'content-type': 'text/html' }).end(page('No picture', '/missing.png')),
    '/huge.html': (response) => response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(64 * 1024) }).end('x'.repeat(64 * 1024)),
    '/slow.html': (response) => {
      setTimeout(() => response.writeHead(200, { 'content-type': 'text/html' }).end(page('Slow', 'x.png')), 200);
    },
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://site').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes[path];
    if (path === '/to-localhost') response.writeHead(302, { location: `http://localhost:${request.socket.localPort}/films/rock.html` }).end();
    else if (route) route(response);
    else response.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, picture };
}

interface Client {
  preview(url: string, path?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  get(path: string): Promise<Response>;
}

async function userOn(base: string, name: string): Promise<Client> {
  const response = await fetch(`${base}/_matrix/client/v3/register`, {
    method: 'POST',
    body: JSON.stringify({ username: name, password: 'correct horse', auth: { type: 'm.login.dummy' } }),
  });
  const { access_token: token } = (await response.json()) as { access_token: string };
  const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return {
    get,
    async preview(url, path = '/_matrix/client/v1/media/preview_url') {
      const answer = await get(`${path}?url=${encodeURIComponent(url)}`);
      return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    },
  };
}

const reachLoopback = 'url_previews: { allow_private_addresses: true, max_page_bytes: 32768 }';

for (const engine of engines()) {
  t.test(`a page's OpenGraph data and picture, fetched once and kept (${engine})`, async (t) => {
    const site = await startSite(t);
    const server = await startTestServer(t, engine, reachLoopback);
    const alice = await userOn(server.url, 'alice');
    const bob = await userOn(server.url, 'bob');

    const { status, body } = await alice.preview(`${site.base}/films/rock.html#cast`);
    t.equal(status, 200);
    t.match(body, {
      'og:title': 'The Rock',
      'og:type': 'video.movie',
      'og:url': 'http://www.imdb.com/title/tt0117500/',
      'og:description': 'A film & a rock',
      'og:image:type': 'image/png',
      'og:image:width': 279,
      'og:image:height': 129,
      'matrix:image:size': site.picture.length,
    });
    t.match(body['og:image'], /^mxc:\/\/hearth\.test\/[A-Za-z0-9_-]+$/, 'the picture is this server\'s content');
    const download = await bob.get(`/_matrix/client/v1/media/download/${(body['og:image'] as string).slice('mxc://'.length)}`);
    t.ok(Buffer.from(await download.arrayBuffer()).equals(site.picture), 'the picture as the site served it');
    t.equal(site.hits.get('/films/pictures/rock.png'), 1, 'the relative og:image was resolved against the page');

    const again = await bob.preview(`${site.base}/films/rock.html`);
    t.same(again.body, body, 'another user gets the same preview (the fragment is not part of the page)');
    t.equal(site.hits.get('/films/rock.html'), 1, 'from what was kept: the site was asked once');

    const legacy = await alice.preview(`${site.base}/films/rock.html`, '/_matrix/media/v3/preview_url');
    t.same(legacy.body, body, 'the deprecated path answers the same');
    const anonymous = await fetch(`${server.url}/_matrix/media/v3/preview_url?url=${encodeURIComponent(site.base)}`);
    t.equal(anonymous.status, 401, 'previews need an access token');
    await anonymous.arrayBuffer();
  });
}

t.test('matrix-js-sdk gets the preview a client shows under a link', async (t) => {
  const site = await startSite(t);
  const server = await startTestServer(t, 'embedded', reachLoopback);
  await registerWithSdk(server.url, 'dana', 'correct horse battery');
  const login = await sdk.createClient({ baseUrl: server.url, logger: quietLogger }).loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'dana' }, password: 'correct horse battery' });
  const client = sdk.createClient({ baseUrl: server.url, accessToken: login.access_token, userId: login.user_id, logger: quietLogger });
  const preview = await client.getUrlPreview(`${site.base}/films/rock.html`, Date.now());
  t.match(preview, { 'og:title': 'The Rock', 'og:description': 'A film & a rock', 'og:image': /^mxc:\/\// });
  const http = client.mxcUrlToHttp(preview['og:image'] as string, 96, 96, 'scale', false, true, true);
  t.ok(http, 'the picture has a thumbnail URL');
  const thumbnail = await fetch(http!, { headers: { authorization: `Bearer ${login.access_token}` } });
  t.equal(thumbnail.status, 200, 'its thumbnail is served by this server');
  await thumbnail.arrayBuffer();
});

t.test('redirects, pictures, other content and failing sites', async (t) => {
  const site = await startSite(t);
  const server = await startTestServer(t, 'embedded', reachLoopback);
  const alice = await userOn(server.url, 'alice');

  t.match((await alice.preview(`${site.base}/moved`)).body, { 'og:title': 'The Rock' }, 'a redirect is followed');

  const photo = await alice.preview(`${site.base}/photo.png`);
  t.match(photo.body, { 'og:image': /^mxc:\/\//, 'og:image:type': 'image/png', 'og:image:width': 279, 'og:image:height': 129, 'matrix:image:size': site.picture.length }, 'a picture previews as itself');

  t.same((await alice.preview(`${site.base}/paper.pdf`)).body, {}, 'neither page nor picture: an empty preview');

  const broken = await alice.preview(`${site.base}/broken-picture.html`);
  t.equal(broken.status, 200);
  t.match(broken.body, { 'og:title': 'No picture' });
  t.notOk('og:image' in broken.body, 'a picture that cannot be fetched is left out');

  const missing = await alice.preview(`${site.base}/nothing-here`);
  t.match(missing, { status: 502, body: { errcode: 'M_UNKNOWN', error: /HTTP 404/ } });
  t.match(await alice.preview(`${site.base}/huge.html`), { status: 502, body: { errcode: 'M_TOO_LARGE' } });
  t.match(await alice.preview(`${site.base}/loop`), { status: 502, body: { errcode: 'M_UNKNOWN', error: /redirects more than/ } });

  // Asked by many at once, a page is fetched once.
  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => alice.preview(`${site.base}/slow.html`)));
  t.ok(answers.every((answer) => answer.status === 200 && answer.body['og:title'] === 'Slow'));
  t.equal(site.hits.get('/slow.html'), 1, 'one fetch for five requests');

  for (const [url, why] of [
    ['ftp://example.com/file', /Only http and https/],
    ['not a url', /absolute http or https URL/],
    ['http://user:secret@example.com/', /user name or password/],
  ] as const) {
    t.match(await alice.preview(url), { status: 400, body: { errcode: 'M_INVALID_PARAM', error: why } }, url);
  }
  const noUrl = await alice.get('/_matrix/client/v1/media/preview_url');
  t.equal(noUrl.status, 400, 'the url parameter is required');
  await noUrl.arrayBuffer();
});

t.test('private addresses are refused unless allowed, and denied hosts always', async (t) => {
  const site = await startSite(t);
  const port = new URL(site.base).port;

  const strict = await startTestServer(t, 'embedded');
  const alice = await userOn(strict.url, 'alice');
  for (const url of [`${site.base}/films/rock.html`, `http://localhost:${port}/films/rock.html`, `http://[::ffff:127.0.0.1]:${port}/films/rock.html`]) {
    t.match(await alice.preview(url), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, url);
  }
  t.equal(site.hits.size, 0, 'the site was never contacted');

  const intranet = await startTestServer(t, 'embedded', 'url_previews: { allowed_ip_ranges: ["127.0.0.0/8"], denied_hosts: ["*.example.org", "localhost"] }');
  const bob = await userOn(intranet.url, 'bob');
  t.match((await bob.preview(`${site.base}/films/rock.html`)).body, { 'og:title': 'The Rock' }, 'an allowed range is reached');
  t.match(await bob.preview(`http://localhost:${port}/films/rock.html`), { status: 403, body: { errcode: 'M_FORBIDDEN', error: /does not preview URLs of localhost/ } });
  t.match(await bob.preview('https://www.example.org/'), { status: 403, body: { errcode: 'M_FORBIDDEN' } }, 'a denied subdomain');
  t.match(await bob.preview(`${site.base}/to-localhost`), { status: 403, body: { errcode: 'M_FORBIDDEN', error: /localhost is not previewed/ } }, 'a redirect to a denied host');

  const off = await startTestServer(t, 'embedded', 'url_previews: { enabled: false }');
  const carol = await userOn(off.url, 'carol');
  t.match(await carol.preview(`${site.base}/films/rock.html`), { status: 404, body: { errcode: 'M_UNRECOGNIZED' } }, 'turned off');
});
