import type { Clock, Random } from '../platform/clock.js';
import { MatrixError, type UserId } from '../protocol/index.js';
import type { RegistrationTokenRecord, RegistrationTokenStore, Requester } from './ports.js';
import { lettersFrom } from './tokens.js';
import type { AuthDict } from './uia.js';

/**
 * Registration tokens: with `registration_requires_token`, POST /register asks for a token an admin
 * handed out (the m.login.registration_token stage). Admins manage tokens through Synapse's admin API
 * (/_synapse/admin/v1/registration_tokens), so synadm and existing scripts work.
 */

/** The spec's grammar for tokens: the opaque identifier alphabet, at most 64 characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-';
export const DEFAULT_GENERATED_TOKEN_LENGTH = 16;

export interface RegistrationTokenDeps {
  readonly store: RegistrationTokenStore;
  readonly clock: Clock;
  readonly random: Random;
  /** Whether the user may use Synapse's admin API (UserRecord.admin). */
  readonly isServerAdmin: (userId: UserId) => Promise<boolean>;
  /** registration_requires_token: the stage is asked for and /validity answers. */
  readonly required: boolean;
}

export interface NewRegistrationToken {
  readonly token?: string | undefined;
  readonly usesAllowed?: number | null | undefined;
  readonly expiryTime?: number | null | undefined;
  readonly length?: number | undefined;
}

export function createRegistrationTokens(deps: RegistrationTokenDeps) {
  const { store, clock, random } = deps;

  async function admin(requester: Requester): Promise<void> {
    if (!(await deps.isServerAdmin(requester.userId))) throw new MatrixError('M_FORBIDDEN', 'You are not a server admin');
  }

  function checkExpiry(expiryTime: number | null | undefined): void {
    if (expiryTime !== undefined && expiryTime !== null && expiryTime < clock.now()) {
      throw new MatrixError('M_INVALID_PARAM', 'expiry_time must not be in the past');
    }
  }

  async function usable(token: string): Promise<boolean> {
    const found = TOKEN_PATTERN.test(token) ? await store.registrationToken(token) : undefined;
    if (found === undefined) return false;
    const now = clock.now();
    return (found.usesAllowed === null || found.pending + found.completed < found.usesAllowed) && (found.expiryTime === null || found.expiryTime > now);
  }

  return {
    required: deps.required,

    /** The m.login.registration_token stage: reserves one use of the token for the UIA session. */
    async stage(auth: AuthDict, sessionId: string): Promise<void> {
      if (typeof auth.token !== 'string') throw new MatrixError('M_MISSING_PARAM', 'auth.token is required');
      if (!TOKEN_PATTERN.test(auth.token) || !(await store.reserveRegistrationToken(sessionId, auth.token, clock.now()))) {
        throw new MatrixError('M_UNAUTHORIZED', 'Invalid registration token');
      }
    },

    /** The registration of this UIA session finished: its token's use counts as completed. */
    async completed(sessionId: string): Promise<void> {
      await store.completeRegistrationToken(sessionId);
    },

    /** GET /register/m.login.registration_token/validity. */
    async validity(token: string): Promise<boolean> {
      if (!deps.required) throw new MatrixError('M_FORBIDDEN', 'This server does not use registration tokens');
      if (!TOKEN_PATTERN.test(token)) throw new MatrixError('M_INVALID_PARAM', 'A token is 1 to 64 of A-Z a-z 0-9 . _ ~ -');
      return usable(token);
    },

    async list(requester: Requester, valid: boolean | undefined): Promise<RegistrationTokenRecord[]> {
      await admin(requester);
      return store.registrationTokens(valid, clock.now());
    },

    async get(requester: Requester, token: string): Promise<RegistrationTokenRecord> {
      await admin(requester);
      const found = await store.registrationToken(token);
      if (found === undefined) throw new MatrixError('M_NOT_FOUND', `No such registration token: ${token}`);
      return found;
    },

    async create(requester: Requester, request: NewRegistrationToken): Promise<RegistrationTokenRecord> {
      await admin(requester);
      if (request.token !== undefined && request.length !== undefined) {
        throw new MatrixError('M_INVALID_PARAM', 'Give either token or length, not both');
      }
      if (request.token !== undefined && !TOKEN_PATTERN.test(request.token)) {
        throw new MatrixError('M_INVALID_PARAM', 'token must be 1 to 64 of A-Z a-z 0-9 . _ ~ -');
      }
      checkExpiry(request.expiryTime);
      const usesAllowed = request.usesAllowed ?? null;
      const expiryTime = request.expiryTime ?? null;
      const length = request.length ?? DEFAULT_GENERATED_TOKEN_LENGTH;
      for (let attempt = 0; attempt < 3; attempt++) {
        const token = request.token ?? lettersFrom(random, TOKEN_ALPHABET, length);
        if (await store.createRegistrationToken(token, usesAllowed, expiryTime)) {
          return { token, usesAllowed, pending: 0, completed: 0, expiryTime };
        }
        if (request.token !== undefined) throw new MatrixError('M_INVALID_PARAM', `Token already exists: ${token}`);
      }
      throw new MatrixError('M_UNKNOWN', 'Could not generate an unused token; ask for a longer one', { status: 500 });
    },

    async update(
      requester: Requester,
      token: string,
      changes: { readonly usesAllowed?: number | null | undefined; readonly expiryTime?: number | null | undefined },
    ): Promise<RegistrationTokenRecord> {
      await admin(requester);
      checkExpiry(changes.expiryTime);
      const updated = await store.updateRegistrationToken(token, {
        ...(changes.usesAllowed === undefined ? {} : { usesAllowed: changes.usesAllowed }),
        ...(changes.expiryTime === undefined ? {} : { expiryTime: changes.expiryTime }),
      });
      if (updated === undefined) throw new MatrixError('M_NOT_FOUND', `No such registration token: ${token}`);
      return updated;
    },

    async delete(requester: Requester, token: string): Promise<void> {
      await admin(requester);
      if (!(await store.deleteRegistrationToken(token))) throw new MatrixError('M_NOT_FOUND', `No such registration token: ${token}`);
    },
  };
}

export type RegistrationTokens = ReturnType<typeof createRegistrationTokens>;
