import t from 'tap';
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { registerUser } from '../../helpers/app.js';
import { testClient } from '../../helpers/client.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * The user-interactive auth fallback pages: a stage done in the page (run here against a real Hearth in
 * a stand-in browser) completes the session, and the client's retry with the session alone succeeds.
 */

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
const fallbackUrl = (stage: string, session: string) => `/_matrix/client/v3/auth/${stage}/fallback/web?session=${encodeURIComponent(session)}`;

/** Runs a fallback page's script with the given input values; resolves once it calls onAuthDone, or with the problem it shows. */
function runPage(html: string, serverUrl: string, pageUrl: string, values: Record<string, string>): Promise<{ done: boolean; problem: string }> {
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
  const auto = html.includes('data-auto="yes"');
  return new Promise((resolve) => {
    const problem = { textContent: '' };
    let submit: ((event: { preventDefault(): void }) => void) | undefined;
    const form = {
      dataset: { auto: auto ? 'yes' : undefined },
      addEventListener: (_type: string, handler: typeof submit) => void (submit = handler),
      querySelectorAll: () => Object.entries(values).map(([name, value]) => ({ name, value })),
      replaceChildren: () => undefined,
    };
    const [pathname, search] = pageUrl.split('?');
    const window = { onAuthDone: () => resolve({ done: true, problem: problem.textContent }) };
    runInNewContext(script, {
      document: { getElementById: (id: string) => (id === 'stage' ? form : problem), createElement: () => ({}) },
      location: { pathname, search: `?${search}` },
      window,
      JSON,
      fetch: async (path: string, init: RequestInit) => {
        const response = await fetch(`${serverUrl}${path}`, init);
        // The page shows a problem once the answer is read: report it when no onAuthDone came.
        setTimeout(() => resolve({ done: false, problem: problem.textContent }), 100);
        return response;
      },
    });
    if (!auto) submit!({ preventDefault: () => undefined });
  });
}

t.test('deleting a device: the password stage done in the fallback page', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const alice = await registerUser(server.app, 'alice', 'alice password');
  const client = testClient(server.app, alice);
  const other = await server.app.inject({ method: 'POST', url: '/_matrix/client/v3/login', payload: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice password' } });
  const device = other.json().device_id as string;

  const started = await client.call('DELETE', `/devices/${device}`);
  t.equal(started.status, 401);
  const session = started.body.session as string;

  const page = await server.app.inject({ method: 'GET', url: fallbackUrl('m.login.password', session) });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, /Enter the password of @alice:hearth\.test/);
  const script = /<script>([\s\S]*)<\/script>/.exec(page.body)?.[1] ?? '';
  t.ok(String(page.headers['content-security-policy']).includes(`script-src ${sha256(script)}`), 'the inline script is the one the policy allows');

  const wrong = await runPage(page.body, server.url, fallbackUrl('m.login.password', session), { password: 'not it' });
  t.same(wrong, { done: false, problem: 'Invalid password' }, 'a wrong password is shown in the page');
  t.equal((await client.call('DELETE', `/devices/${device}`)).status, 401, 'and completes nothing');

  const right = await runPage(page.body, server.url, fallbackUrl('m.login.password', session), { password: 'alice password' });
  t.equal(right.done, true, 'window.onAuthDone is called');
  const retried = await server.app.inject({ method: 'DELETE', url: `/_matrix/client/v3/devices/${device}`, headers: { authorization: `Bearer ${alice.access_token}` }, payload: { auth: { session } } });
  t.equal(retried.statusCode, 200, 'the retry with the session alone goes through');
  t.equal((await client.get(`/devices/${device}`)).status, 404, 'the device is gone');
});

t.test('registration: the dummy stage completes by itself; pages refuse what they cannot do', async (t) => {
  const server = await startTestServer(t, 'embedded');
  const anonymous = testClient(server.app, null);
  const started = await anonymous.post('/register', { username: 'bob', password: 'bob password' });
  t.equal(started.status, 401);
  const session = started.body.session as string;

  const page = await server.app.inject({ method: 'GET', url: fallbackUrl('m.login.dummy', session) });
  t.equal(page.statusCode, 200);
  t.equal((await runPage(page.body, server.url, fallbackUrl('m.login.dummy', session), {})).done, true);
  t.match(await anonymous.post('/register', { auth: { session } }), { status: 200, body: { user_id: '@bob:hearth.test' } }, 'registered with the remembered parameters');

  const again = (await anonymous.post('/register', { username: 'carol', password: 'pw' })).body.session as string;
  t.match(await anonymous.post(fallbackUrl('m.login.password', again), { password: 'x' }), { status: 403, body: { errcode: 'M_FORBIDDEN' } },
    'a registration asks nobody\'s password');
  const unknownStage = await server.app.inject({ method: 'GET', url: fallbackUrl('m.login.terms', again) });
  t.equal(unknownStage.statusCode, 404);
  t.match(unknownStage.body, /Hearth has no page for m\.login\.terms/);
  const noCaptcha = await server.app.inject({ method: 'GET', url: fallbackUrl('m.login.recaptcha', again) });
  t.equal(noCaptcha.statusCode, 404);
  t.match(noCaptcha.body, /This server asks for no captcha/, 'without reCAPTCHA keys');
  const unknownSession = await server.app.inject({ method: 'GET', url: fallbackUrl('m.login.dummy', 'nosuchsession') });
  t.equal(unknownSession.statusCode, 400);
  t.match(unknownSession.body, /Unknown or expired session/);
});
