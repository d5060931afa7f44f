import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testClient } from '../../helpers/client.js';
import { engines } from '../../helpers/database.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * Registration behind reCAPTCHA (m.login.recaptcha): the 401 names the stage first in every flow with the
 * site key in its params; the token is checked at the siteverify endpoint (a stand-in on loopback) with
 * the secret key; a wrong one is refused and can be retried; the fallback page does the same in a browser.
 */

const GOOD = 'solved-captcha-token';

async function startSiteverify(t: Test) {
  const asked: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      asked.push(form);
      const good = form.get('secret') === 'the secret key' && form.get('response') === GOOD;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(good ? { success: true, hostname: 'hearth.test' } : { success: false, 'error-codes': ['invalid-input-response'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/recaptcha/api/siteverify`, asked };
}

for (const engine of engines()) {
  t.test(`${engine}: registration asks for a solved captcha first`, async (t) => {
    const siteverify = await startSiteverify(t);
    const server = await startTestServer(
      t,
      engine,
      `recaptcha: { public_key: "the site key", private_key: "the secret key", siteverify_api: "${siteverify.url}", require_for_registration: true }`,
    );
    const anonymous = testClient(server.app, null);
    const register = (auth?: Record<string, unknown>) => anonymous.post('/register', { username: 'newbie', password: 'a password', ...(auth ? { auth } : {}) });

    const first = await register();
    t.equal(first.status, 401);
    t.same(first.body.flows, [{ stages: ['m.login.recaptcha', 'm.login.dummy'] }]);
    t.same(first.body.params, { 'm.login.recaptcha': { public_key: 'the site key' } }, 'the site key the widget needs');
    const session = first.body.session as string;

    const skipped = await register({ type: 'm.login.dummy', session });
    t.same([skipped.status, skipped.body.completed], [401, []], 'the captcha cannot be skipped');
    const wrong = await register({ type: 'm.login.recaptcha', response: 'a bot guess', session });
    t.match(wrong, { status: 401, body: { errcode: 'M_UNAUTHORIZED', error: /not solved \(invalid-input-response\)/, completed: [] } });
    const missing = await register({ type: 'm.login.recaptcha', session });
    t.match(missing, { status: 401, body: { errcode: 'M_MISSING_PARAM' } });
    const solved = await register({ type: 'm.login.recaptcha', response: GOOD, session });
    t.same([solved.status, solved.body.completed], [401, ['m.login.recaptcha']]);
    t.equal(siteverify.asked.at(-1)?.get('secret'), 'the secret key', 'checked with the secret key');
    const done = await register({ type: 'm.login.dummy', session });
    t.equal(done.status, 200);
    t.equal(done.body.user_id, '@newbie:hearth.test');
  });

  t.test(`${engine}: the captcha's fallback page`, async (t) => {
    const siteverify = await startSiteverify(t);
    const server = await startTestServer(
      t,
      engine,
      `recaptcha: { public_key: "the site key", private_key: "the secret key", siteverify_api: "${siteverify.url}", require_for_registration: true }`,
    );
    const anonymous = testClient(server.app, null);
    const session = (await anonymous.post('/register', { username: 'browser', password: 'a password' })).body.session as string;
    const url = `/_matrix/client/v3/auth/m.login.recaptcha/fallback/web?session=${session}`;
    const page = await server.app.inject({ method: 'GET', url });
    t.equal(page.statusCode, 200);
    t.match(page.body, /data-sitekey="the site key" data-callback="captchaDone"/);
    t.match(String(page.headers['content-security-policy']), /script-src 'sha256-[^']+' https:\/\/www\.recaptcha\.net https:\/\/www\.gstatic\.com; .*frame-src https:\/\/www\.recaptcha\.net/);
    const wrong = await server.app.inject({ method: 'POST', url, payload: { response: 'nope' } });
    t.equal(wrong.json().errcode, 'M_UNAUTHORIZED');
    const right = await server.app.inject({ method: 'POST', url, payload: { response: GOOD } });
    t.equal(right.statusCode, 200);
    const done = await anonymous.post('/register', { auth: { type: 'm.login.dummy', session } });
    t.equal(done.body.user_id, '@browser:hearth.test', 'the client then finishes with the session');
  });
}
