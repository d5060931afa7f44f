import { MatrixError, type UserId } from '../protocol/index.js';
import type { PasswordHasher } from './passwords.js';
import { passwordStage } from './password-stage.js';
import type { AccountStore } from './ports.js';
import type { RegistrationTokens } from './registration-tokens.js';
import type { StageCheck, Uia } from './uia.js';

/**
 * The user-interactive auth fallback (client-server API, "Fallback"): a client that does not know a
 * stage opens /_matrix/client/v3/auth/{authType}/fallback/web?session=... in a browser; the page completes
 * the stage for the session, and the client retries its request with the session alone. The stages
 * Hearth asks for: m.login.password (the session's user's own password), m.login.registration_token,
 * m.login.recaptcha and m.login.dummy.
 */

export const FALLBACK_STAGES = ['m.login.password', 'm.login.registration_token', 'm.login.recaptcha', 'm.login.dummy'] as const;
export type FallbackStage = (typeof FALLBACK_STAGES)[number];

export interface UiaFallbackDeps {
  readonly uia: Pick<Uia, 'session' | 'completeStage'>;
  readonly store: Pick<AccountStore, 'user'>;
  readonly passwords: PasswordHasher;
  /** Registration tokens' stage; absent: tokens are not used here. */
  readonly registrationTokens?: Pick<RegistrationTokens, 'stage'>;
  /** The reCAPTCHA stage (its params carry the public key the page shows the widget with); absent: no captcha. */
  readonly recaptcha?: StageCheck & { readonly params: Readonly<Record<string, unknown>> };
}

function isFallbackStage(stage: string): stage is FallbackStage {
  return (FALLBACK_STAGES as readonly string[]).includes(stage);
}

export type UiaFallback = ReturnType<typeof createUiaFallback>;

export function createUiaFallback(deps: UiaFallbackDeps) {
  /** The stage, if Hearth has a page for it, and the session, if it is live: else the error to show. */
  async function opened(stage: string, sessionId: string | undefined) {
    if (!isFallbackStage(stage)) throw new MatrixError('M_UNRECOGNIZED', `Hearth has no page for ${stage}`);
    if (sessionId === undefined || sessionId === '') throw new MatrixError('M_MISSING_PARAM', 'The session query parameter is required');
    return { stage, session: await deps.uia.session(sessionId) };
  }

  return {
    /** GET: what the page shows; whose password it asks for (m.login.password); the reCAPTCHA site key. */
    async open(stage: string, sessionId: string | undefined): Promise<{ readonly stage: FallbackStage; readonly subject: string | null; readonly siteKey: string | null }> {
      const { stage: known, session } = await opened(stage, sessionId);
      const siteKey = known === 'm.login.recaptcha' ? deps.recaptcha?.params.public_key : undefined;
      if (known === 'm.login.recaptcha' && typeof siteKey !== 'string') throw new MatrixError('M_UNRECOGNIZED', 'This server asks for no captcha');
      return { stage: known, subject: session.subject, siteKey: typeof siteKey === 'string' ? siteKey : null };
    },

    /** POST: the page's answer completes the stage, or says what was wrong. */
    async complete(
      stage: string,
      sessionId: string | undefined,
      fields: { readonly password?: string | undefined; readonly token?: string | undefined; readonly response?: string | undefined },
    ): Promise<void> {
      const { stage: known, session } = await opened(stage, sessionId);
      const id = sessionId as string;
      switch (known) {
        case 'm.login.password': {
          if (session.subject === null) throw new MatrixError('M_FORBIDDEN', 'This session does not ask for a password');
          if (fields.password === undefined) throw new MatrixError('M_MISSING_PARAM', 'password is required');
          const check = passwordStage(deps, session.subject as UserId);
          await deps.uia.completeStage(id, known, check, { identifier: { type: 'm.id.user', user: session.subject }, password: fields.password });
          return;
        }
        case 'm.login.registration_token': {
          if (deps.registrationTokens === undefined) throw new MatrixError('M_FORBIDDEN', 'Registration tokens are not used on this server');
          if (fields.token === undefined) throw new MatrixError('M_MISSING_PARAM', 'token is required');
          await deps.uia.completeStage(id, known, deps.registrationTokens.stage, { token: fields.token });
          return;
        }
        case 'm.login.recaptcha': {
          if (deps.recaptcha === undefined) throw new MatrixError('M_UNRECOGNIZED', 'This server asks for no captcha');
          await deps.uia.completeStage(id, known, deps.recaptcha, { response: fields.response });
          return;
        }
        case 'm.login.dummy':
          await deps.uia.completeStage(id, known, undefined, {});
      }
    },
  };
}
