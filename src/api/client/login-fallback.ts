import type { FastifyInstance } from 'fastify';
import { escapeHtml, htmlPage, sendPage } from './html-page.js';

/**
 * The login fallback (client-server API, "Login Fallback"): GET /_matrix/static/client/login/ answers a
 * page that logs in with a user name and password through POST /login, passing on the non-credential
 * query parameters (device_id, initial_device_display_name, refresh_token), and hands the answer to
 * `window.matrixLogin.onLogin(response)`, for clients that know none of the login flows.
 */

const SCRIPT = `
const form = document.getElementById('login');
const problem = document.getElementById('problem');
form.addEventListener('submit', async (submitted) => {
  submitted.preventDefault();
  problem.textContent = '';
  const body = {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: form.user.value },
    password: form.password.value,
  };
  const query = new URLSearchParams(location.search);
  if (query.has('device_id')) body.device_id = query.get('device_id');
  if (query.has('initial_device_display_name')) body.initial_device_display_name = query.get('initial_device_display_name');
  if (query.has('refresh_token')) body.refresh_token = query.get('refresh_token') === 'true';
  form.submit.disabled = true;
  try {
    const response = await fetch('/_matrix/client/v3/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      problem.textContent = answer.error || 'Login failed (' + response.status + ')';
      return;
    }
    if (window.matrixLogin && typeof window.matrixLogin.onLogin === 'function') {
      window.matrixLogin.onLogin(answer);
    } else {
      form.replaceChildren(Object.assign(document.createElement('p'), { textContent: 'Logged in as ' + answer.user_id + '. You can close this window.' }));
    }
  } catch (err) {
    problem.textContent = 'The server could not be reached: ' + err.message;
  } finally {
    form.submit.disabled = false;
  }
});
`;

function page(serverName: string) {
  return htmlPage(`Log in to ${serverName}`, `<form id="login">
<h1>Log in to ${escapeHtml(serverName)}</h1>
<label>User name <input name="user" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button name="submit" type="submit">Log in</button>
<p id="problem" role="alert"></p>
</form>`, SCRIPT);
}

export function loginFallbackRoutes(serverName: string) {
  const login = page(serverName);
  return async (app: FastifyInstance): Promise<void> => {
    for (const url of ['/_matrix/static/client/login/', '/_matrix/static/client/login']) {
      app.get(url, async (_request, reply) => sendPage(reply, login));
    }
  };
}
