import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock, Random } from '../platform/clock.js';
import { MatrixError, type DeviceId, type UserId } from '../protocol/index.js';
import type { AccountService } from './accounts.js';
import type { RegistrationNonceStore } from './ports.js';

/**
 * Synapse's shared-secret registration (/_synapse/admin/v1/register), so that register_new_matrix_user,
 * synadm and deployment scripts work against Hearth: the caller proves it knows `registration_shared_secret`
 * with an HMAC-SHA1 over a fresh single-use nonce and the account's details.
 */

/** How long a nonce may wait for its POST (Synapse: one minute). */
export const NONCE_LIFETIME_MS = 60_000;

export interface SharedSecretRegistrationDeps {
  readonly nonces: RegistrationNonceStore;
  readonly accounts: Pick<AccountService, 'createAccount'>;
  readonly clock: Clock;
  readonly random: Random;
  /** null: the feature is off. */
  readonly secret: string | null;
}

export interface SharedSecretRequest {
  readonly nonce: string;
  readonly username: string;
  readonly password: string;
  readonly admin: boolean;
  readonly userType: string | null;
  /** The new account's display name (not covered by the MAC, as in Synapse); the localpart when absent. */
  readonly displayName?: string | undefined;
  /** Hex HMAC-SHA1 of nonce NUL username NUL password NUL admin|notadmin [NUL user_type]. */
  readonly mac: string;
}

export function sharedSecretMac(secret: string, request: Omit<SharedSecretRequest, 'mac'>): string {
  const parts = [request.nonce, request.username, request.password, request.admin ? 'admin' : 'notadmin'];
  if (request.userType !== null) parts.push(request.userType);
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(parts.join('\x00'), 'utf8').digest('hex');
}

export function createSharedSecretRegistration(deps: SharedSecretRegistrationDeps) {
  const { nonces, clock, random } = deps;

  function secret(): string {
    if (deps.secret === null) {
      throw new MatrixError('M_FORBIDDEN', 'Shared-secret registration is off; set registration_shared_secret to use it');
    }
    return deps.secret;
  }

  return {
    async nonce(): Promise<string> {
      secret();
      const now = clock.now();
      await nonces.deleteRegistrationNoncesBefore(now - NONCE_LIFETIME_MS);
      const nonce = random.token(24);
      await nonces.addRegistrationNonce(nonce, now);
      return nonce;
    },

    async register(request: SharedSecretRequest): Promise<{ userId: UserId; accessToken: string; deviceId: DeviceId }> {
      const key = secret();
      // Taken before anything else is checked, so a nonce is spent by any attempt, right or wrong.
      const issued = await nonces.takeRegistrationNonce(request.nonce);
      if (issued === undefined || issued < clock.now() - NONCE_LIFETIME_MS) {
        throw new MatrixError('M_UNKNOWN', 'Unknown, used or expired nonce; get a new one with GET');
      }
      if (request.password.includes('\x00') || request.username.includes('\x00')) {
        throw new MatrixError('M_INVALID_PARAM', 'The username and password may not contain NUL');
      }
      const expected = Buffer.from(sharedSecretMac(key, request), 'utf8');
      const given = Buffer.from(request.mac.toLowerCase(), 'utf8');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new MatrixError('M_FORBIDDEN', 'HMAC incorrect');
      }
      if (request.userType !== null) {
        throw new MatrixError('M_INVALID_PARAM', 'user_type is not supported yet; leave it out');
      }
      const account = await deps.accounts.createAccount({
        localpart: request.username,
        password: request.password,
        admin: request.admin,
        device: { deviceId: undefined, displayName: null },
        displayName: request.displayName,
      });
      if (account.accessToken === undefined || account.deviceId === undefined) {
        throw new Error('createAccount returned no session for an account created with a device');
      }
      return { userId: account.userId, accessToken: account.accessToken, deviceId: account.deviceId };
    },
  };
}

export type SharedSecretRegistration = ReturnType<typeof createSharedSecretRegistration>;
