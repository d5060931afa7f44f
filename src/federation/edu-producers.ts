import type { Logger } from '../platform/logger.js';
import { serverOfUser } from './sender-destinations.js';

/**
 * The outbound EDUs other than typing (server-server API, "EDUs"): each producer is told of one local change
 * by the service that made it (through a small port of that service), picks the destinations and queues the
 * EDU on the sender. Remote users' changes are ignored: their own server tells the others. A producer never
 * throws: the change itself has committed, and a failure to queue is logged.
 */

/** What the producers need of the sender. */
export interface EduQueue {
  enqueueEdu(destinations: Iterable<string>, eduType: string, content: Readonly<Record<string, unknown>>, dedupeKey?: string): Promise<void>;
  /** The other servers with a joined member in the room now. */
  roomDestinations(roomId: string): Promise<string[]>;
}

export interface EduProducerDeps {
  readonly sender: EduQueue;
  /** The rooms the user is joined to (the room store's roomsWithMembership). */
  readonly roomsWithMembership: (userId: string, membership: 'join') => Promise<readonly string[]>;
  /** The user's device-list position before `position` (own changes only), 0 if none: the prev_id of an update. */
  readonly previousDeviceListPosition?: (userId: string, position: number) => Promise<number>;
  readonly serverName: string;
  readonly log: Logger;
}

/** A receipt a local user set (m.read only: private receipts never leave the server). */
export interface OutboundReceipt {
  readonly roomId: string;
  readonly userId: string;
  readonly receiptType: string;
  readonly eventId: string;
  readonly threadId: string | null;
  readonly ts: number;
}

/** The presence of a local user as others see it (an m.presence push entry without user_id). */
export interface OutboundPresence {
  readonly presence: string;
  readonly last_active_ago?: number;
  readonly status_msg?: string;
  readonly currently_active?: boolean;
}

/** One device of a local user that changed: its keys and name as a remote server may see them, or deleted. */
export interface OutboundDeviceUpdate {
  readonly deviceId: string;
  readonly deleted: boolean;
  readonly keys?: Readonly<Record<string, unknown>>;
  readonly displayName?: string;
}

/** A to-device request's messages for remote users: server -> user id -> device id ('*') -> content. */
export interface OutboundToDevice {
  readonly sender: string;
  readonly type: string;
  /** Unique per request and stable across its retries (at most 32 characters). */
  readonly messageId: string;
  readonly byServer: ReadonlyMap<string, Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>>;
}

export function createEduProducers(deps: EduProducerDeps) {
  const { sender, serverName } = deps;
  const log = deps.log.child({ component: 'federation-edus' });
  const isLocal = (userId: string) => serverOfUser(userId) === serverName;

  /** The other servers sharing at least one room with the user. */
  async function userDestinations(userId: string): Promise<string[]> {
    const servers = new Set<string>();
    for (const roomId of await deps.roomsWithMembership(userId, 'join')) {
      for (const server of await sender.roomDestinations(roomId)) servers.add(server);
    }
    return [...servers].sort();
  }

  /** Runs a producer; a failure is logged with the EDU type only (never content). */
  async function guarded(eduType: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      log.warn({ err, eduType }, 'could not queue an EDU');
    }
  }

  return {
    userDestinations,

    /** m.receipt to the room's other servers; a newer receipt of the same kind replaces a waiting one. */
    receipt: (receipt: OutboundReceipt): Promise<void> => guarded('m.receipt', async () => {
      if (!isLocal(receipt.userId) || receipt.receiptType !== 'm.read') return;
      const data = receipt.threadId === null ? { ts: receipt.ts } : { ts: receipt.ts, thread_id: receipt.threadId };
      const content = { [receipt.roomId]: { [receipt.receiptType]: { [receipt.userId]: { event_ids: [receipt.eventId], data } } } };
      // A thread's receipt must not replace the main timeline's (or another thread's) waiting one.
      const key = `receipt:${receipt.roomId}:${receipt.userId}:${receipt.receiptType}${receipt.threadId === null ? '' : `:${receipt.threadId}`}`;
      await sender.enqueueEdu(await sender.roomDestinations(receipt.roomId), 'm.receipt', content, key);
    }),

    /** m.presence to the servers sharing a room with the user; only the latest state waits in the queue. */
    presence: (userId: string, presence: OutboundPresence): Promise<void> => guarded('m.presence', async () => {
      if (!isLocal(userId)) return;
      const content = { push: [{ user_id: userId, ...presence }] };
      await sender.enqueueEdu(await userDestinations(userId), 'm.presence', content, `presence:${userId}`);
    }),

    /**
     * m.device_list_update, one per changed device, all with the change's position as stream_id and the
     * user's previous position as prev_id (a receiver that does not know it resynchronises, as the spec says).
     */
    deviceListChanged: (userId: string, position: number, updates: readonly OutboundDeviceUpdate[]): Promise<void> =>
      guarded('m.device_list_update', async () => {
        if (!isLocal(userId) || updates.length === 0) return;
        const destinations = await userDestinations(userId);
        if (destinations.length === 0) return;
        const previous = (await deps.previousDeviceListPosition?.(userId, position)) ?? 0;
        for (const update of updates) {
          await sender.enqueueEdu(destinations, 'm.device_list_update', {
            user_id: userId,
            device_id: update.deviceId,
            stream_id: position,
            prev_id: previous > 0 ? [previous] : [],
            deleted: update.deleted,
            ...(update.keys === undefined || update.deleted ? {} : { keys: update.keys }),
            ...(update.displayName === undefined || update.deleted ? {} : { device_display_name: update.displayName }),
          });
        }
      }),

    /** m.signing_key_update: the user's new master and/or self-signing key (never the user-signing key). */
    signingKeysChanged: (userId: string, keys: { readonly master?: Readonly<Record<string, unknown>>; readonly selfSigning?: Readonly<Record<string, unknown>> }): Promise<void> =>
      guarded('m.signing_key_update', async () => {
        if (!isLocal(userId) || (keys.master === undefined && keys.selfSigning === undefined)) return;
        await sender.enqueueEdu(await userDestinations(userId), 'm.signing_key_update', {
          user_id: userId,
          ...(keys.master === undefined ? {} : { master_key: keys.master }),
          ...(keys.selfSigning === undefined ? {} : { self_signing_key: keys.selfSigning }),
        });
      }),

    /**
     * m.direct_to_device, one per server with that server's users' messages. The dedupe key is the message
     * id: a retried request still waiting in the queue is not queued twice.
     */
    toDevice: (request: OutboundToDevice): Promise<void> => guarded('m.direct_to_device', async () => {
      if (!isLocal(request.sender)) return;
      for (const [server, messages] of request.byServer) {
        if (server === serverName) continue;
        await sender.enqueueEdu([server], 'm.direct_to_device', {
          sender: request.sender,
          type: request.type,
          message_id: request.messageId,
          messages,
        }, `to-device:${request.sender}:${request.messageId}`);
      }
    }),
  };
}

export type EduProducers = ReturnType<typeof createEduProducers>;
