/**
 * The storage send-to-device needs. src/storage/to-device-store.ts implements it on PostgreSQL (both
 * engines); server.ts wires the notifier to the bus (src/platform/stream-notices.ts).
 */

/** One message of a request: to one device of a local user, or to all of them ('*'). */
export interface ToDeviceMessage {
  readonly userId: string;
  readonly deviceId: string;
  readonly content: Readonly<Record<string, unknown>>;
}

/** Who sent a request, and its transaction id (the spec scopes transaction ids to the sending device). */
export interface ToDeviceTransaction {
  readonly sender: string;
  readonly senderDeviceId: string;
  readonly txnId: string;
  readonly ts: number;
}

export interface QueuedToDevice {
  readonly position: number;
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
}

export interface ToDeviceStore {
  /**
   * Queues the messages for the devices they name ('*': every device the user has; a named device wins
   * over '*'), unknown devices skipped, all at one new position. null when the transaction was seen before:
   * nothing is queued twice. Otherwise the position and the users with a message queued.
   */
  queueToDevice(txn: ToDeviceTransaction, type: string, messages: readonly ToDeviceMessage[]): Promise<{ position: number; recipients: string[] } | null>;
  /** The device's queued messages above `since` up to `upTo`, oldest first, at most `limit`. */
  toDeviceMessages(userId: string, deviceId: string, since: number, upTo: number, limit: number): Promise<QueuedToDevice[]>;
  /** Deletes the device's messages at or below `upTo` (the client has them). */
  deleteToDeviceMessages(userId: string, deviceId: string, upTo: number): Promise<void>;
  toDeviceStreamPosition(): Promise<number>;
}

/** Told of every new to-device position, with the recipients (the same shape as src/ephemeral's). */
export type ToDeviceNotifier = (notice: { readonly position: number; readonly users: readonly string[] }) => void;
