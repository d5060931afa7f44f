import type { FastifyInstance } from 'fastify';
import { isMatrixError, type MatrixError } from '../../protocol/index.js';
import type { FallbackStage, UiaFallback } from '../../users/index.js';
import { enforceRateLimit } from '../plumbing/route.js';
import { escapeHtml, htmlPage, sendPage } from './html-page.js';

/**
 * GET /_matrix/client/v3/auth/{authType}/fallback/web?session=...: a page that completes one stage of a
 * user-interactive auth session, and tells the client so the spec's way (window.onAuthDone, or "authDone"
 * posted to window.opener). The page posts what the user types, as JSON, to the same URL.
 */

const PATHS = ['/_matrix/client/v3/auth/:authType/fallback/web', '/_matrix/client/r0/auth/:authType/fallback/web'];

/** The spec's words for telling the client the stage is done. */
export const AUTH_DONE = `
function authDone() {
  document.getElementById('stage').replaceChildren(Object.assign(document.createElement('p'), { textContent: 'Done. You can go back to the app.' }));
  if (window.onAuthDone) {
    window.onAuthDone();
  } else if (window.opener && window.opener.postMessage) {
    window.opener.postMessage('authDone', '*');
  }
}
`;

const SUBMIT = `${AUTH_DONE}
const form = document.getElementById('stage');
const problem = document.getElementById('problem');
async function submitStage(fields) {
  problem.textContent = '';
  try {
    const response = await fetch(location.pathname + location.search, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fields),
    });
    if (response.ok) return authDone();
    const answer = await response.json();
    problem.textContent = answer.error || 'That did not work (' + response.status + ')';
  } catch (err) {
    problem.textContent = 'The server could not be reached: ' + err.message;
  }
}
form.addEventListener('submit', (submitted) => {
  submitted.preventDefault();
  const fields = {};
  for (const input of form.querySelectorAll('input')) fields[input.name] = input.value;
  submitStage(fields);
});
if (form.dataset.auto === 'yes') submitStage({});
window.captchaDone = (response) => submitStage({ response });
`;

/** Google's widget script; recaptcha.net serves it where google.com is blocked. */
const RECAPTCHA_SCRIPT = 'https://www.recaptcha.net/recaptcha/api.js';

function stageForm(stage: FallbackStage, subject: string | null, siteKey: string | null): string {
  switch (stage) {
    case 'm.login.recaptcha':
      // The widget calls captchaDone (SUBMIT defines it) with its token.
      return `<form id="stage">
<h1>Are you human?</h1>
<p>This server asks new accounts to solve a captcha, against sign-up bots.</p>
<div class="g-recaptcha" data-sitekey="${escapeHtml(siteKey ?? '')}" data-callback="captchaDone"></div>
<p id="problem" role="alert"></p>
</form>
<script src="${RECAPTCHA_SCRIPT}" async defer></script>`;
    case 'm.login.password':
      return `<form id="stage">
<h1>Confirm it is you</h1>
<p>Enter the password of ${escapeHtml(subject ?? 'your account')}.</p>
<label>Password <input name="password" type="password" autocomplete="current-password" required autofocus></label>
<button type="submit">Confirm</button>
<p id="problem" role="alert"></p>
</form>`;
    case 'm.login.registration_token':
      return `<form id="stage">
<h1>Registration token</h1>
<p>This server asks for a registration token to sign up.</p>
<label>Token <input name="token" autocomplete="off" required autofocus></label>
<button type="submit">Continue</button>
<p id="problem" role="alert"></p>
</form>`;
    case 'm.login.dummy':
      return `<form id="stage" data-auto="yes">
<p>Continuing...</p>
<p id="problem" role="alert"></p>
</form>`;
  }
}

function errorPage(err: MatrixError) {
  return htmlPage('Cannot continue', `<form id="stage"><h1>Cannot continue</h1><p id="problem" role="alert">${escapeHtml(err.message)}</p></form>`, AUTH_DONE);
}

export function uiaFallbackRoutes(fallback: UiaFallback) {
  return async (app: FastifyInstance): Promise<void> => {
    for (const url of PATHS) {
      app.get(url, async (request, reply) => {
        const { authType } = request.params as { authType: string };
        const { session } = request.query as { session?: unknown };
        try {
          const { stage, subject, siteKey } = await fallback.open(authType, typeof session === 'string' ? session : undefined);
          const page = htmlPage('Confirm', stageForm(stage, subject, siteKey), SUBMIT);
          // The captcha's widget comes from Google: its script, and the frame it draws in.
          const policy = stage === 'm.login.recaptcha'
            ? page.policy.replace(/script-src ([^;]+)/, `script-src $1 https://www.recaptcha.net https://www.gstatic.com`) + '; frame-src https://www.recaptcha.net https://www.google.com'
            : page.policy;
          return sendPage(reply, { html: page.html, policy });
        } catch (err) {
          if (!isMatrixError(err)) throw err;
          return sendPage(reply, errorPage(err), err.status);
        }
      });
      app.post(url, async (request) => {
        // A password typed here is a guess like a login's: counted as one, per address.
        if (app.rateLimiter) await enforceRateLimit(app.rateLimiter, 'login', null, request);
        const { authType } = request.params as { authType: string };
        const { session } = request.query as { session?: unknown };
        const body = (request.body ?? {}) as { password?: unknown; token?: unknown; response?: unknown };
        await fallback.complete(authType, typeof session === 'string' ? session : undefined, {
          password: typeof body.password === 'string' ? body.password : undefined,
          token: typeof body.token === 'string' ? body.token : undefined,
          response: typeof body.response === 'string' ? body.response : undefined,
        });
        return {};
      });
    }
  };
}
