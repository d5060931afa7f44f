import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * The login fallback (client-server API, "Login Fallback"): GET /_matrix/static/client/login/ answers a
 * page that logs in with a user name and password through POST /login, passing on the non-credential
 * query parameters (device_id, initial_device_display_name, refresh_token), and hands the answer to
 * `window.matrixLogin.onLogin(response)`, for clients that know none of the login flows. The page loads
 * nothing from elsewhere; its script and style are allowed by their hashes alone.
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

const STYLE = `
body { font-family: system-ui, sans-serif; display: flex; justify-content: center; margin: 3em 1em; color: #1b1d22; }
form { display: grid; gap: 0.8em; width: 100%; max-width: 22em; }
label { display: grid; gap: 0.3em; }
input, button { font: inherit; padding: 0.5em; }
#problem { color: #b3261e; min-height: 1.2em; }
`;

function hashOf(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(serverName: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in to ${escapeHtml(serverName)}</title>
<style>${STYLE}</style>
</head>
<body>
<form id="login">
<h1>Log in to ${escapeHtml(serverName)}</h1>
<label>User name <input name="user" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button name="submit" type="submit">Log in</button>
<p id="problem" role="alert"></p>
</form>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${hashOf(SCRIPT)}`,
  `style-src ${hashOf(STYLE)}`,
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
].join('; ');

export function loginFallbackRoutes(serverName: string) {
  const html = page(serverName);
  return async (app: FastifyInstance): Promise<void> => {
    for (const url of ['/_matrix/static/client/login/', '/_matrix/static/client/login']) {
      app.get(url, async (_request, reply) =>
        reply
          .header('content-type', 'text/html; charset=utf-8')
          .header('content-security-policy', CONTENT_SECURITY_POLICY)
          .header('x-content-type-options', 'nosniff')
          .header('cache-control', 'no-store')
          .send(html));
    }
  };
}
