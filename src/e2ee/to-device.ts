import { encodeBase64Url, sha256 } from '../crypto/index.js';
import { MatrixError, isUserId, userIdServer, type UserId } from '../protocol/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { deviceOf, type Requester } from '../users/index.js';
import type { ToDeviceMessage, ToDeviceNotifier, ToDeviceStore } from './ports.js';

/**
 * Send-to-device messaging: messages queued per recipient device on the toDevice stream, handed to that
 * device by /sync until its next sync acknowledges them. A retried request (same sending device and
 * transaction id) queues nothing again. Messages for other servers' users go to `federate` (federation's
 * m.direct_to_device), grouped per server, once per request.
 */

/** The spec's recommended cap on messages per /sync response. */
export const TO_DEVICE_SYNC_LIMIT = 100;

export interface ToDeviceEvent {
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
}

export interface ToDeviceFor {
  /** The position to put in the next sync token: acknowledging it acknowledges exactly these events. */
  readonly position: number;
  readonly events: ToDeviceEvent[];
}

export interface ToDeviceDeps {
  readonly store: ToDeviceStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly serverName: string;
  readonly notify: ToDeviceNotifier;
  /** Carries messages for remote users to their servers; never throws. Absent: they are dropped (logged). */
  readonly federate?: (request: RemoteToDevice) => Promise<void>;
}

/** A request's messages for other servers' users: server -> user id -> device id ('*') -> content. */
export interface RemoteToDevice {
  readonly sender: string;
  readonly type: string;
  /** Derived from the sending device and transaction id: the same on a retry, so receivers drop repeats. */
  readonly messageId: string;
  readonly byServer: Map<string, Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
}

/** The spec caps message_id at 32 characters. */
function messageIdOf(sender: string, deviceId: string, txnId: string): string {
  return encodeBase64Url(sha256(JSON.stringify([sender, deviceId, txnId]))).slice(0, 32);
}

/** messages: user id -> device id (or '*') -> content. */
export type ToDeviceRequest = Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;

export function createToDeviceService(deps: ToDeviceDeps) {
  const { store, clock, log, serverName, notify } = deps;

  return {
    /** PUT /sendToDevice/{eventType}/{txnId}. */
    async send(requester: Requester, eventType: string, txnId: string, messages: ToDeviceRequest): Promise<void> {
      const queued: ToDeviceMessage[] = [];
      const byServer: RemoteToDevice['byServer'] = new Map();
      for (const [userId, devices] of Object.entries(messages)) {
        if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', `'${userId}' in messages is not a user id`);
        const server = userIdServer(userId as UserId);
        if (server !== serverName) {
          let forServer = byServer.get(server);
          if (forServer === undefined) byServer.set(server, (forServer = {}));
          forServer[userId] = devices;
          continue;
        }
        for (const [deviceId, content] of Object.entries(devices)) queued.push({ userId, deviceId, content });
      }
      const senderDeviceId = deviceOf(requester);
      const txn = { sender: requester.userId, senderDeviceId, txnId, ts: clock.now() };
      // The transaction is recorded even with only remote recipients: a retry (null) sends nothing again.
      const result = await store.queueToDevice(txn, eventType, queued);
      if (result === null) return;
      if (result.recipients.length > 0) notify({ position: result.position, users: result.recipients });
      if (byServer.size === 0) return;
      if (deps.federate === undefined) {
        log.info({ sender: requester.userId, servers: [...byServer.keys()], eventType }, 'to-device messages for remote users dropped: federation is off');
        return;
      }
      await deps.federate({ sender: requester.userId, type: eventType, messageId: messageIdOf(requester.userId, senderDeviceId, txnId), byServer });
    },

    /**
     * For sync: the device's messages above `since`, oldest first, at most `limit`, and the position that
     * acknowledges exactly those (the stream's position when none are left over).
     */
    async toDeviceFor(userId: string, deviceId: string, since: number, limit: number = TO_DEVICE_SYNC_LIMIT, upTo?: number): Promise<ToDeviceFor> {
      // The position is read first: a message committed meanwhile is above it, kept for the next sync.
      const current = upTo ?? (await store.toDeviceStreamPosition());
      if (since >= current || limit <= 0) return { position: Math.max(since, current), events: [] };
      const rows = await store.toDeviceMessages(userId, deviceId, since, current, limit);
      const position = rows.length === limit ? (rows.at(-1)?.position ?? current) : current;
      return { position, events: rows.map(({ type, sender, content }) => ({ type, sender, content })) };
    },

    /** For sync: the client's token acknowledges the device's messages up to `position`; they go. */
    deleteUpTo: (userId: string, deviceId: string, position: number): Promise<void> =>
      store.deleteToDeviceMessages(userId, deviceId, position),

    /** The toDevice stream's current position. */
    position: (): Promise<number> => store.toDeviceStreamPosition(),
  };
}

export type ToDeviceService = ReturnType<typeof createToDeviceService>;
