/**
 * Email addresses on accounts (client-server API, "Adding Account Administrative Contact Information"):
 * the user asks for a validation link (POST /account/3pid/email/requestToken), Hearth mails it, and once
 * it is followed the session may add the address to the account (POST /account/3pid/add, or the
 * deprecated POST /account/3pid). The user can then log in with the address and their password. A new
 * user may register with an address the same way (/register/email/requestToken, then the
 * m.login.email.identity stage). Each address belongs to one account at most. Phone numbers (msisdn)
 * need an SMS gateway Hearth does not have.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock, Random } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Mailer } from '../platform/smtp.js';
import { MatrixError } from '../protocol/index.js';
import type { AuthDict, StageCheck } from './uia.js';

export interface ValidationSession {
  readonly sid: string;
  readonly clientSecret: string;
  readonly medium: string;
  readonly address: string;
  readonly tokenHash: string;
  readonly sendAttempt: number;
  readonly createdTs: number;
  readonly validatedTs: number | null;
}

export interface AccountThreepid {
  readonly medium: string;
  readonly address: string;
  readonly validatedTs: number;
  readonly addedTs: number;
}

export interface AccountThreepidStore {
  session(sid: string): Promise<ValidationSession | undefined>;
  sessionFor(clientSecret: string, medium: string, address: string): Promise<ValidationSession | undefined>;
  /** Keeps a new session, or replaces the one of the same secret and address (a new send_attempt). */
  putSession(session: ValidationSession): Promise<void>;
  markValidated(sid: string, ts: number): Promise<void>;
  /** Records that the session completed a stage of user-interactive auth session `uiaSession`. */
  attachUia(sid: string, uiaSession: string): Promise<void>;
  sessionOfUia(uiaSession: string): Promise<ValidationSession | undefined>;
  threepids(userId: string): Promise<AccountThreepid[]>;
  owner(medium: string, address: string): Promise<string | undefined>;
  /** False when the address belongs to an account already. */
  add(userId: string, threepid: AccountThreepid): Promise<boolean>;
  remove(userId: string, medium: string, address: string): Promise<boolean>;
  /** Every address of the account goes (deactivation). */
  removeAll(userId: string): Promise<void>;
}

export interface AccountThreepidsDeps {
  readonly store: AccountThreepidStore;
  /** Null when no mail relay is configured: addresses cannot be validated, so none can be added. */
  readonly mailer: Mailer | null;
  /** Where clients reach this server (public_baseurl): the validation link points there. */
  readonly publicBaseUrl: string;
  readonly serverName: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
}

/** How long a validation link works, and a validated session may add its address. */
export const SESSION_LIFETIME_MS = 24 * 60 * 60_000;
/** The path of the validation link (Hearth's own, as Synapse has its own). */
export const VALIDATION_PATH = '/_hearth/client/email/validate';

export type AccountThreepids = ReturnType<typeof createAccountThreepids>;

/** How the mail says what the link is for. */
const PURPOSE_TEXT = { add: 'and add it to', register: 'to create', password: 'to set a new password for' } as const;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** An email address as kept and compared: trimmed, lower-cased (as Synapse canonicalises them). */
export function canonicalEmail(address: string): string {
  const trimmed = address.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(trimmed) || trimmed.length > 254) {
    throw new MatrixError('M_INVALID_PARAM', `'${address.slice(0, 100)}' is not an email address`);
  }
  return trimmed;
}

function checkClientSecret(secret: string): void {
  if (!/^[0-9a-zA-Z.=_-]{1,255}$/.test(secret)) throw new MatrixError('M_INVALID_PARAM', 'client_secret must be 1 to 255 of the characters [0-9a-zA-Z.=_-]');
}

export function createAccountThreepids(deps: AccountThreepidsDeps) {
  const { store, clock } = deps;
  const log = deps.log.child({ component: 'account-threepids' });

  function mailer(): Mailer {
    if (deps.mailer === null) throw new MatrixError('M_THREEPID_MEDIUM_NOT_SUPPORTED', 'This server sends no mail (email.smtp_host is not set), so it cannot validate email addresses');
    return deps.mailer;
  }

  /** A validated, unexpired session of the caller's secret, or the spec's refusal. */
  async function validatedSession(sid: string, clientSecret: string): Promise<ValidationSession> {
    const session = await store.session(sid);
    if (session === undefined || session.clientSecret !== clientSecret || clock.now() - session.createdTs > SESSION_LIFETIME_MS) {
      throw new MatrixError('M_THREEPID_AUTH_FAILED', 'No validation session with that sid and client_secret (it may have expired)', { status: 400 });
    }
    if (session.validatedTs === null) throw new MatrixError('M_THREEPID_AUTH_FAILED', 'The address has not been validated yet: follow the link in the email first', { status: 400 });
    return session;
  }

  /** The validated session `threepid_creds` (or the older `threepidCreds`) of a stage's auth names. */
  async function stageSession(auth: AuthDict): Promise<ValidationSession> {
    const creds = (auth.threepid_creds ?? auth.threepidCreds) as { sid?: unknown; client_secret?: unknown } | undefined;
    if (typeof creds?.sid !== 'string' || typeof creds.client_secret !== 'string') {
      throw new MatrixError('M_MISSING_PARAM', 'threepid_creds with sid and client_secret is required');
    }
    return validatedSession(creds.sid, creds.client_secret);
  }

  return {
    /** Whether addresses can be added (capabilities' m.3pid_changes). */
    get enabled(): boolean {
      return deps.mailer !== null;
    },

    /**
     * POST /account/3pid/email/requestToken: mails a validation link for an address no account has. A
     * request repeating the same client_secret, address and send_attempt sends nothing again.
     */
    async requestEmailToken(request: { readonly clientSecret: string; readonly email: string; readonly sendAttempt: number }, purpose: 'add' | 'register' | 'password' = 'add'): Promise<{ sid: string }> {
      checkClientSecret(request.clientSecret);
      const address = canonicalEmail(request.email);
      const send = mailer();
      const owner = await store.owner('email', address);
      // The spec's answers: an address to add or register with must be free; one to reset a password by, taken.
      if (purpose === 'password' && owner === undefined) throw new MatrixError('M_THREEPID_NOT_FOUND', 'That email address is on no account');
      if (purpose !== 'password' && owner !== undefined) throw new MatrixError('M_THREEPID_IN_USE', 'That email address belongs to an account already');
      const earlier = await store.sessionFor(request.clientSecret, 'email', address);
      if (earlier !== undefined && earlier.sendAttempt >= request.sendAttempt) return { sid: earlier.sid };
      const token = deps.random.token(32);
      const session: ValidationSession = {
        sid: earlier?.sid ?? deps.random.token(24),
        clientSecret: request.clientSecret,
        medium: 'email',
        address,
        tokenHash: hashToken(token),
        sendAttempt: request.sendAttempt,
        createdTs: clock.now(),
        validatedTs: earlier?.validatedTs ?? null,
      };
      await store.putSession(session);
      const link = new URL(VALIDATION_PATH, deps.publicBaseUrl);
      link.search = new URLSearchParams({ sid: session.sid, client_secret: request.clientSecret, token }).toString();
      try {
        await send.send({
          to: address,
          subject: `Confirm your email address on ${deps.serverName}`,
          text: `${link.href}\n\nFollow this link to confirm that this address is yours, ${PURPOSE_TEXT[purpose]} your Matrix account on ${deps.serverName}.\nIf you did not ask for this, ignore this email.\n`,
        });
      } catch (err) {
        log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'could not send a validation email');
        throw new MatrixError('M_UNKNOWN', 'The validation email could not be sent; try again later', { status: 500, cause: err });
      }
      return { sid: session.sid };
    },

    /** The validation link: true when it validated the session. */
    async validate(sid: string, clientSecret: string, token: string): Promise<boolean> {
      const session = await store.session(sid);
      if (session === undefined || session.clientSecret !== clientSecret || clock.now() - session.createdTs > SESSION_LIFETIME_MS) return false;
      const given = Buffer.from(hashToken(token), 'hex');
      if (!timingSafeEqual(given, Buffer.from(session.tokenHash, 'hex'))) return false;
      if (session.validatedTs === null) await store.markValidated(sid, clock.now());
      return true;
    },

    /** POST /account/3pid/add (and the deprecated POST /account/3pid): adds a validated address to the account. */
    async add(userId: string, credentials: { readonly sid: string; readonly clientSecret: string }): Promise<void> {
      const session = await validatedSession(credentials.sid, credentials.clientSecret);
      const added = await store.add(userId, { medium: session.medium, address: session.address, validatedTs: session.validatedTs!, addedTs: clock.now() });
      if (!added && (await store.owner(session.medium, session.address)) !== userId) {
        throw new MatrixError('M_THREEPID_IN_USE', 'That email address belongs to another account');
      }
    },

    /**
     * The m.login.email.identity stage of user-interactive auth: `threepid_creds` (or the older
     * `threepidCreds`) name a validated session, which the stage then belongs to.
     */
    emailStage: (async (auth: AuthDict, uiaSession: string): Promise<void> => {
      const session = await stageSession(auth);
      if ((await store.owner(session.medium, session.address)) !== undefined) throw new MatrixError('M_THREEPID_IN_USE', 'That email address belongs to an account already');
      await store.attachUia(session.sid, uiaSession);
    }) satisfies StageCheck,

    /** The same stage for a password reset: the address must be on an account, whose password changes. */
    resetStage: (async (auth: AuthDict, uiaSession: string): Promise<void> => {
      const session = await stageSession(auth);
      if ((await store.owner(session.medium, session.address)) === undefined) throw new MatrixError('M_THREEPID_NOT_FOUND', 'That email address is on no account');
      await store.attachUia(session.sid, uiaSession);
    }) satisfies StageCheck,

    /** The account whose address completed the email stage of `uiaSession` (a password reset). */
    async ownerOfUia(uiaSession: string): Promise<string | undefined> {
      const session = await store.sessionOfUia(uiaSession);
      return session === undefined ? undefined : store.owner(session.medium, session.address);
    },

    /**
     * An address someone else already verified goes on the account (a single sign-on provider's
     * email_verified address, for a new account). false when it is not an address or is on another account.
     */
    async addVerified(userId: string, address: string): Promise<boolean> {
      let canonical: string;
      try {
        canonical = canonicalEmail(address);
      } catch {
        return false;
      }
      const now = clock.now();
      return store.add(userId, { medium: 'email', address: canonical, validatedTs: now, addedTs: now });
    },

    /** After a registration whose auth had the email stage: the address goes on the new account. */
    async registered(uiaSession: string, userId: string): Promise<void> {
      const session = await store.sessionOfUia(uiaSession);
      if (session === undefined || session.validatedTs === null) return;
      if (!(await store.add(userId, { medium: session.medium, address: session.address, validatedTs: session.validatedTs, addedTs: clock.now() }))) {
        log.info({ userId }, 'the address registered with was taken meanwhile');
      }
    },

    /** The addresses on the account. */
    threepids: (userId: string): Promise<AccountThreepid[]> => store.threepids(userId),

    /** GET /account/3pid. */
    async list(userId: string) {
      const threepids = await store.threepids(userId);
      return { threepids: threepids.map((t) => ({ medium: t.medium, address: t.address, validated_at: t.validatedTs, added_at: t.addedTs })) };
    },

    /** The address leaves the account (POST /account/3pid/delete); false when the account did not have it. */
    async remove(userId: string, medium: string, address: string): Promise<boolean> {
      return store.remove(userId, medium, medium === 'email' ? address.trim().toLowerCase() : address);
    },

    removeAll: (userId: string) => store.removeAll(userId),

    /** Whose account the address is on (login with an address). */
    async userFor(medium: string, address: string): Promise<string | undefined> {
      return store.owner(medium, medium === 'email' ? address.trim().toLowerCase() : address);
    },
  };
}
