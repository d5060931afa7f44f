import type { HttpClient } from '../platform/http-client.js';
import { MatrixError } from '../protocol/index.js';
import type { StageCheck } from './uia.js';

/**
 * The m.login.recaptcha stage of user-interactive auth (client-server API, "Google ReCaptcha"): the client
 * shows Google's reCAPTCHA widget with the server's public (site) key, and sends the token it gets as
 * `response`; the server asks Google's siteverify endpoint, with its private key, whether the token is good.
 * Registration asks for it when recaptcha.require_for_registration is on, against sign-up bots.
 */

export const RECAPTCHA_STAGE = 'm.login.recaptcha';

export interface RecaptchaDeps {
  readonly http: HttpClient;
  readonly publicKey: string;
  readonly privateKey: string;
  /** Google's https://www.recaptcha.net/recaptcha/api/siteverify, or a stand-in. */
  readonly siteverifyUrl: string;
}

/** The stage's check, carrying the public key a client needs to show the widget (the 401's params). */
export function recaptchaStage(deps: RecaptchaDeps): StageCheck & { readonly params: Readonly<Record<string, unknown>> } {
  const check = async (auth: { readonly response?: unknown }) => {
    if (typeof auth.response !== 'string' || auth.response === '') {
      throw new MatrixError('M_MISSING_PARAM', `${RECAPTCHA_STAGE} needs the widget's token as response`);
    }
    const form = new URLSearchParams({ secret: deps.privateKey, response: auth.response });
    let answer;
    try {
      answer = await deps.http.request(deps.siteverifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      });
    } catch (err) {
      throw new MatrixError('M_UNKNOWN', `The captcha could not be checked: reCAPTCHA could not be reached (${(err as Error).message})`, { status: 502 });
    }
    let verdict: unknown;
    try {
      verdict = answer.json();
    } catch {
      verdict = undefined;
    }
    if (answer.status !== 200 || typeof verdict !== 'object' || verdict === null) {
      throw new MatrixError('M_UNKNOWN', `The captcha could not be checked: reCAPTCHA answered HTTP ${answer.status}`, { status: 502 });
    }
    if ((verdict as { success?: unknown }).success !== true) {
      const codes = (verdict as { 'error-codes'?: unknown })['error-codes'];
      const why = Array.isArray(codes) && codes.length > 0 ? ` (${codes.join(', ')})` : '';
      throw new MatrixError('M_UNAUTHORIZED', `The captcha was not solved${why}; try it again`);
    }
  };
  return Object.assign(check, { params: { public_key: deps.publicKey } });
}
