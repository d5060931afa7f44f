/**
 * The storage inbound federation transactions need (PUT /_matrix/federation/v1/send/{txnId}).
 * src/storage/federation-inbound-store.ts implements it on migrations/0020_federation_inbound.sql.
 */

/** The answer to a transaction: per PDU, {} when handled or { error } saying why not. */
export interface TransactionResponse {
  readonly pdus: Record<string, { readonly error?: string }>;
}

/** One message of an m.direct_to_device EDU: to one device of a local user, or to all of them ('*'). */
export interface RemoteToDeviceMessage {
  readonly userId: string;
  readonly deviceId: string;
  readonly content: Readonly<Record<string, unknown>>;
}

export interface InboundTransactionStore {
  /** The answer given to the origin's transaction before, if any. */
  transactionResponse(origin: string, txnId: string): Promise<TransactionResponse | undefined>;
  /** Remembers the answer; answers older than `pruneBeforeTs` (of any origin) are forgotten. */
  recordTransaction(origin: string, txnId: string, response: TransactionResponse, nowTs: number, pruneBeforeTs: number): Promise<void>;
  /**
   * Queues a remote sender's to-device messages for local devices ('*': all of the user's devices; unknown
   * devices skipped), once per (sender, messageId). null when the message id was seen before; otherwise
   * the toDevice position and the users with a message queued.
   */
  queueRemoteToDevice(
    sender: string,
    messageId: string,
    type: string,
    messages: readonly RemoteToDeviceMessage[],
    nowTs: number,
  ): Promise<{ position: number; recipients: string[] } | null>;
  /** Records on the device-list stream that remote users' devices or cross-signing keys changed; returns the position. */
  remoteDeviceListChanged(userIds: readonly string[]): Promise<number>;
}
