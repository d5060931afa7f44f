import type { Clock } from '../platform/clock.js';
import type { KeyJson } from './key-json.js';

/**
 * Remote users' device lists as their servers last gave them (all devices, with their master and
 * self-signing keys), kept for users who share a room with this server so that every /keys/query of a
 * busy encrypted room does not ask their server again. An m.device_list_update or m.signing_key_update
 * from their server (inbound /send) makes the entry stale: `remoteDeviceListChanged(userId)`.
 *
 * The cache is per process; entries also expire after `maxAgeMs`, which bounds how long another process
 * that did not receive the EDU may answer from an old list.
 */

export interface RemoteDeviceList {
  readonly devices: Readonly<Record<string, KeyJson>>;
  readonly master?: KeyJson;
  readonly selfSigning?: KeyJson;
}

export interface RemoteDeviceListsDeps {
  readonly clock: Clock;
  /** Default 10 minutes. */
  readonly maxAgeMs?: number;
  /** Users kept at most; the oldest go first. Default 20,000. */
  readonly maxUsers?: number;
}

export const REMOTE_DEVICE_LIST_MAX_AGE_MS = 10 * 60_000;

export function createRemoteDeviceLists(deps: RemoteDeviceListsDeps) {
  const maxAgeMs = deps.maxAgeMs ?? REMOTE_DEVICE_LIST_MAX_AGE_MS;
  const maxUsers = deps.maxUsers ?? 20_000;
  // Insertion order is age order: a put deletes first, so the first key is always the oldest.
  const entries = new Map<string, { readonly list: RemoteDeviceList; readonly at: number }>();

  return {
    /** The cached list, unless it is stale or too old. */
    get(userId: string): RemoteDeviceList | undefined {
      const entry = entries.get(userId);
      if (entry === undefined) return undefined;
      if (deps.clock.now() - entry.at >= maxAgeMs) {
        entries.delete(userId);
        return undefined;
      }
      return entry.list;
    },

    put(userId: string, list: RemoteDeviceList): void {
      entries.delete(userId);
      while (entries.size >= maxUsers) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      entries.set(userId, { list, at: deps.clock.now() });
    },

    /**
     * The user's devices or cross-signing keys changed on their server (m.device_list_update,
     * m.signing_key_update received): the next query asks their server again.
     */
    remoteDeviceListChanged(userId: string): void {
      entries.delete(userId);
    },

    /** Users cached now (tests, metrics). */
    size: (): number => entries.size,
  };
}

export type RemoteDeviceLists = ReturnType<typeof createRemoteDeviceLists>;
