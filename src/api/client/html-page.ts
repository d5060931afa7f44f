import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/**
 * The few HTML pages the client API serves (the login and user-interactive auth fallbacks): one inline
 * script and one inline style each, allowed by their hashes alone, nothing loaded from elsewhere.
 */

/** The style every page shares. */
export const PAGE_STYLE = `
body { font-family: system-ui, sans-serif; display: flex; justify-content: center; margin: 3em 1em; color: #1b1d22; }
form { display: grid; gap: 0.8em; width: 100%; max-width: 22em; }
label { display: grid; gap: 0.3em; }
input, button { font: inherit; padding: 0.5em; }
#problem { color: #b3261e; min-height: 1.2em; }
`;

function hashOf(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A whole page around `body`, with `script` run at its end. */
export function htmlPage(title: string, body: string, script: string): { readonly html: string; readonly policy: string } {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
${body}
<script>${script}</script>
</body>
</html>
`;
  const policy = [
    "default-src 'none'",
    `script-src ${hashOf(script)}`,
    `style-src ${hashOf(PAGE_STYLE)}`,
    "connect-src 'self'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
  ].join('; ');
  return { html, policy };
}

export function sendPage(reply: FastifyReply, page: { readonly html: string; readonly policy: string }, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', page.policy)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(page.html);
}
