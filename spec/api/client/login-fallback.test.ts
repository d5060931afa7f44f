import t from 'tap';
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { registerUser } from '../../helpers/app.js';
import { startTestServer } from '../../helpers/server.js';

/**
 * The login fallback page: served as HTML whose inline script and style are exactly those its Content
 * Security Policy allows, and whose script, run against a real Hearth (a small stand-in for the browser's
 * document), logs in and hands the answer to window.matrixLogin.onLogin.
 */

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

t.test('the login fallback page logs in and calls onLogin', async (t) => {
  const server = await startTestServer(t, 'embedded');
  await registerUser(server.app, 'alice', 'secret words');
  const res = await server.app.inject({ method: 'GET', url: '/_matrix/static/client/login/?device_id=FALLBACKDEV' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/html/);
  const html = res.body;
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
  const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? '';
  const csp = String(res.headers['content-security-policy']);
  t.match(csp, /default-src 'none'/);
  t.ok(csp.includes(`script-src ${sha256(script)}`), 'the inline script is the one the policy allows');
  t.ok(csp.includes(`style-src ${sha256(style)}`), 'and the style');
  t.match(html, /<input name="user"[^>]*>/);
  t.match(html, /<input name="password" type="password"[^>]*>/);
  t.equal((await server.app.inject({ method: 'GET', url: '/_matrix/static/client/login' })).statusCode, 200, 'without the trailing slash too');

  // The page's script, in a stand-in browser.
  const run = (password: string) => new Promise<{ loggedIn?: Record<string, unknown>; problem: string }>((resolve) => {
    let submit: ((event: { preventDefault(): void }) => Promise<void>) | undefined;
    const problem = { textContent: '' };
    const form = {
      user: { value: 'alice' },
      password: { value: password },
      submit: { disabled: false },
      addEventListener: (_type: string, handler: typeof submit) => void (submit = handler),
      replaceChildren: () => undefined,
    };
    const window = { matrixLogin: { onLogin: (answer: Record<string, unknown>) => resolve({ loggedIn: answer, problem: problem.textContent }) } };
    runInNewContext(script, {
      document: { getElementById: (id: string) => (id === 'login' ? form : problem), createElement: () => ({}) },
      location: { search: '?device_id=FALLBACKDEV' },
      window,
      URLSearchParams,
      JSON,
      fetch: (path: string, init: RequestInit) => fetch(`${server.url}${path}`, init),
    });
    void submit!({ preventDefault: () => undefined }).then(() => {
      if (problem.textContent !== '') resolve({ problem: problem.textContent });
    });
  });

  const wrong = await run('not it');
  t.equal(wrong.loggedIn, undefined);
  t.match(wrong.problem, /Invalid username or password/, 'a wrong password is shown, not passed on');
  const right = await run('secret words');
  t.match(right.loggedIn, { user_id: '@alice:hearth.test', access_token: String, device_id: 'FALLBACKDEV' }, 'the device_id of the query is passed on');
});
