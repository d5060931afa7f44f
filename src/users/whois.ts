import { MatrixError, parseUserId, userIdServer, type ServerName, type UserId } from '../protocol/index.js';
import type { AccountStore, DeviceRecord, Requester } from './ports.js';

/**
 * GET /admin/whois/{userId}: a user's devices and where they were last seen. The spec leaves who may ask
 * to the server; as Synapse, server admins and the user themself.
 */

export interface WhoisDeps {
  readonly store: Pick<AccountStore, 'user' | 'devices'>;
  readonly serverName: ServerName;
}

export interface Whois {
  readonly userId: UserId;
  readonly devices: readonly DeviceRecord[];
}

export function createWhois(deps: WhoisDeps) {
  const { store, serverName } = deps;

  return {
    async whois(requester: Requester, userId: string): Promise<Whois> {
      const target = parseUserId(userId);
      if (target !== requester.userId && (await store.user(requester.userId))?.admin !== true) {
        throw new MatrixError('M_FORBIDDEN', 'Only server admins can look up other users');
      }
      if (userIdServer(target) !== serverName || (await store.user(target)) === undefined) {
        throw new MatrixError('M_NOT_FOUND', `There is no user ${target} on this server`);
      }
      return { userId: target, devices: await store.devices(target) };
    },
  };
}

export type WhoisService = ReturnType<typeof createWhois>;
