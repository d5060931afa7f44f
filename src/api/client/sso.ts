import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isMatrixError, MatrixError } from '../../protocol/index.js';
import { CAS_TICKET_PATH, OIDC_CALLBACK_PATH, SIGN_IN_LIFETIME_MS, type Sso, type SsoOutcome, type SsoStart } from '../../users/index.js';
import type { IdentityProvider } from '../../users/index.js';
import { enforceRateLimit } from '../plumbing/route.js';
import { escapeHtml, htmlPage, sendPage } from './html-page.js';
import { AUTH_DONE } from './uia-fallback.js';

/**
 * Single sign-on's browser side (client-server API, "SSO client login/authentication"): the redirect
 * endpoints a client sends the browser to, the pages it may meet on the way (choose a provider, let the
 * client in, confirm an operation), and the endpoints the providers send it back to. A browser gets its
 * errors as pages; anything else (a client probing the URL) as the usual JSON.
 */

const VERSIONS = ['v3', 'r0'] as const;
const STATE_COOKIE = 'hearth_sso_state';
const COOKIE_PATH = '/_hearth/client/sso/';
const CONFIRM_PATH = '/_hearth/client/sso/confirm';

type Query = Readonly<Record<string, unknown>>;

/** The fallback's signal that the attempt is over (as AUTH_DONE gives it), leaving the page's words alone. */
const TELL_APP = `if (window.onAuthDone) {
  window.onAuthDone();
} else if (window.opener && window.opener.postMessage) {
  window.opener.postMessage('authDone', '*');
}`;

function text(query: Query, name: string): string | undefined {
  const value = query[name];
  return typeof value === 'string' ? value : undefined;
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

function wantsPage(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

function page(title: string, body: string, script = '') {
  return htmlPage(title, `<main id="stage">${body}</main>`, script);
}

function providerLinks(providers: readonly IdentityProvider[], href: (idp: IdentityProvider) => string): string {
  return `<ul>${providers.map((idp) => `<li><a href="${escapeHtml(href(idp))}">Continue with ${escapeHtml(idp.name)}</a></li>`).join('')}</ul>`;
}

export function ssoRoutes(sso: Sso, options: { readonly secureCookie: boolean }) {
  const stateCookie = (state: string) =>
    `${STATE_COOKIE}=${encodeURIComponent(state)}; Path=${COOKIE_PATH}; Max-Age=${SIGN_IN_LIFETIME_MS / 1000}; HttpOnly; SameSite=Lax${options.secureCookie ? '; Secure' : ''}`;
  const clearedCookie = `${STATE_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax${options.secureCookie ? '; Secure' : ''}`;

  /** Runs a browser step; a MatrixError becomes a page for a browser, JSON for anything else. */
  async function browserStep(request: FastifyRequest, reply: FastifyReply, step: () => Promise<FastifyReply>): Promise<FastifyReply> {
    try {
      return await step();
    } catch (err) {
      if (!isMatrixError(err) || !wantsPage(request)) throw err;
      return sendPage(reply, page('Cannot sign in', `<h1>Cannot sign in</h1><p id="problem" role="alert">${escapeHtml(err.message)}</p>`), err.status);
    }
  }

  function go(reply: FastifyReply, start: SsoStart, chooseHref: (idp: IdentityProvider) => string, heading: string): FastifyReply {
    if (start.kind === 'choose') {
      return sendPage(reply, page('Sign in', `<h1>${escapeHtml(heading)}</h1>${providerLinks(start.providers, chooseHref)}`));
    }
    if (start.cookie !== null) void reply.header('set-cookie', stateCookie(start.cookie));
    return reply.header('cache-control', 'no-store').redirect(start.location, 302);
  }

  function finish(reply: FastifyReply, outcome: SsoOutcome): FastifyReply {
    if (outcome.kind === 'confirmed') {
      return sendPage(reply, page('Confirmed', '<h1>Confirmed</h1><p>You can go back to the app.</p>', `${AUTH_DONE}\nauthDone();`));
    }
    // The attempt is over either way: the app is told, and its retry is refused.
    if (outcome.kind === 'refused') {
      return sendPage(reply, page('Refused', `<h1>Refused</h1><p id="problem" role="alert">${escapeHtml(outcome.reason)}.</p>`, TELL_APP));
    }
    if (outcome.trusted) return reply.header('cache-control', 'no-store').redirect(outcome.location, 302);
    // The spec's first security consideration: ask before handing a login to whatever redirectUrl named.
    const target = URL.canParse(outcome.location) ? new URL(outcome.location) : undefined;
    const where = target === undefined ? 'the app' : target.host === '' ? `${target.protocol}//` : target.host;
    return sendPage(
      reply,
      page(
        'Continue to your app',
        `<h1>Continue to your app</h1>
<p>You are signed in as <strong>${escapeHtml(outcome.userId)}</strong>.</p>
<p>Continuing gives <strong>${escapeHtml(where)}</strong> access to your account. If you did not just try to sign in there, close this page.</p>
<p><a id="continue" href="${escapeHtml(outcome.location)}">Continue to ${escapeHtml(where)}</a></p>`,
      ),
    );
  }

  return async (app: FastifyInstance): Promise<void> => {
    const limited = async (request: FastifyRequest) => {
      if (app.rateLimiter) await enforceRateLimit(app.rateLimiter, 'login', null, request);
    };

    for (const version of VERSIONS) {
      const base = `/_matrix/client/${version}`;

      app.get(`${base}/login/sso/redirect`, async (request, reply) => {
        const query = request.query as Query;
        return browserStep(request, reply, async () => {
          const redirectUrl = text(query, 'redirectUrl');
          const start = await sso.startLogin(undefined, redirectUrl);
          return go(reply, start, (idp) => `${base}/login/sso/redirect/${encodeURIComponent(idp.id)}?redirectUrl=${encodeURIComponent(redirectUrl ?? '')}`, 'Sign in with');
        });
      });

      app.get(`${base}/login/sso/redirect/:idpId`, async (request, reply) => {
        const { idpId } = request.params as { idpId: string };
        return browserStep(request, reply, async () => go(reply, await sso.startLogin(idpId, text(request.query as Query, 'redirectUrl')), () => '', ''));
      });

      app.get(`${base}/login/cas/redirect`, async (request, reply) =>
        browserStep(request, reply, async () => go(reply, await sso.startCasLogin(text(request.query as Query, 'redirectUrl')), () => '', '')),
      );

      // m.login.sso's fallback page: says what is being confirmed, then sends the browser to the provider.
      app.get(`${base}/auth/m.login.sso/fallback/web`, async (request, reply) => {
        const session = text(request.query as Query, 'session');
        return browserStep(request, reply, async () => {
          if (session === undefined || session === '') throw new MatrixError('M_MISSING_PARAM', 'The session query parameter is required');
          const providers = await sso.confirmationProviders(session);
          return sendPage(
            reply,
            page(
              'Confirm it is you',
              `<h1>Confirm it is you</h1>
<p>An app signed in to your account asks to do something that needs you to confirm it, such as removing a device or changing your keys. Sign in again to confirm. If you did not expect this, do not continue: your account may be in someone else's hands.</p>
${providerLinks(providers, (idp) => `${CONFIRM_PATH}?${new URLSearchParams({ session, idp: idp.id }).toString()}`)}`,
            ),
          );
        });
      });
    }

    app.get(CONFIRM_PATH, async (request, reply) => {
      const query = request.query as Query;
      return browserStep(request, reply, async () => {
        const session = text(query, 'session');
        const idp = text(query, 'idp');
        if (session === undefined || idp === undefined) throw new MatrixError('M_MISSING_PARAM', 'session and idp are required');
        return go(reply, await sso.startConfirmation(session, idp), () => '', '');
      });
    });

    // The CAS server sends the browser back here with a ticket: the path Synapse uses (r0), and v3.
    for (const path of [CAS_TICKET_PATH, CAS_TICKET_PATH.replace('/r0/', '/v3/')]) {
      app.get(path, async (request, reply) => {
        const query = request.query as Query;
        return browserStep(request, reply, async () => {
          await limited(request);
          const outcome = await sso.casTicket({ ticket: text(query, 'ticket'), redirectUrl: text(query, 'redirectUrl'), session: text(query, 'session') });
          return finish(reply, outcome);
        });
      });
    }

    app.get(OIDC_CALLBACK_PATH, async (request, reply) => {
      const query = request.query as Query;
      return browserStep(request, reply, async () => {
        await limited(request);
        // The state works once, whatever happens next.
        void reply.header('set-cookie', clearedCookie);
        const outcome = await sso.oidcCallback({
          state: text(query, 'state'),
          code: text(query, 'code'),
          error: text(query, 'error'),
          errorDescription: text(query, 'error_description'),
          cookieState: cookie(request, STATE_COOKIE),
        });
        return finish(reply, outcome);
      });
    });
  };
}
