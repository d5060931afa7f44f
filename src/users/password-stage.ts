import { MatrixError, type UserId } from '../protocol/index.js';
import type { PasswordHasher } from './passwords.js';
import type { AccountStore } from './ports.js';
import { UiaRefusal, type AuthDict, type StageCheck } from './uia.js';

/**
 * The m.login.password stage of user-interactive auth, for operations a logged-in user confirms with
 * their password (deleting devices, changing the password, deactivating). The identifier must name the
 * user the access token belongs to: a password proves who you are, not whom you may act for.
 */

export interface PasswordStageDeps {
  readonly store: Pick<AccountStore, 'user'>;
  readonly passwords: PasswordHasher;
}

/** The user an identifier names: a localpart or a full user id, the localpart compared lowercased. */
function namedUser(auth: Readonly<Record<string, unknown>>): string | undefined {
  const identifier = auth.identifier;
  if (identifier !== undefined) {
    if (typeof identifier !== 'object' || identifier === null) return undefined;
    const { type, user } = identifier as { type?: unknown; user?: unknown };
    if (type !== 'm.id.user') {
      throw new MatrixError('M_UNKNOWN', `Unknown identifier type ${String(type)}; use m.id.user`);
    }
    return typeof user === 'string' ? user : undefined;
  }
  // The deprecated top-level `user` of r0 clients.
  return typeof auth.user === 'string' ? auth.user : undefined;
}

function sameUser(named: string, userId: UserId): boolean {
  if (named.startsWith('@')) {
    const colon = named.indexOf(':');
    return colon > 0 && `@${named.slice(1, colon).toLowerCase()}${named.slice(colon)}` === userId;
  }
  return `@${named.toLowerCase()}:` === userId.slice(0, named.length + 2);
}

/** The stage checker that proves the caller is `userId`. */
export function passwordStage(deps: PasswordStageDeps, userId: UserId): StageCheck {
  return Object.assign(async (auth: AuthDict) => {
    const named = namedUser(auth);
    if (named === undefined) throw new MatrixError('M_MISSING_PARAM', 'auth.identifier.user is required (type m.id.user)');
    // Another user's password cannot authorise this user's request, however often it is tried: 403, not 401.
    if (!sameUser(named, userId)) throw new UiaRefusal('M_FORBIDDEN', `You can only confirm this as ${userId}`);
    if (typeof auth.password !== 'string') throw new MatrixError('M_MISSING_PARAM', 'auth.password is required');
    const user = await deps.store.user(userId);
    if (user?.passwordHash == null || !(await deps.passwords.verify(auth.password, user.passwordHash))) {
      throw new MatrixError('M_FORBIDDEN', 'Invalid password');
    }
  }, { subject: userId });
}
