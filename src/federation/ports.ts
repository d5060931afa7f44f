/** The storage the keyring needs (src/storage/server-keys-store.ts implements it). */
import type { CheckedKeyResponse, ServerKeyEntry } from './key-response.js';

export interface StoredKeyResponse {
  readonly json: Readonly<Record<string, unknown>>;
  readonly validUntilTs: number;
  readonly fetchedTs: number;
}

export interface ServerKeyStore {
  /** Every key known for the server, current and old. */
  serverKeys(serverName: string): Promise<ServerKeyEntry[]>;
  /**
   * Records a checked answer in one transaction: its keys (a key's validity is never shortened, an old
   * key's is its expired_ts) and, when it is valid as long as the stored one or longer, the answer itself.
   */
  saveKeyResponse(response: CheckedKeyResponse, fetchedTs: number): Promise<void>;
  /** The newest stored answer of the server, for notary replies. */
  keyResponse(serverName: string): Promise<StoredKeyResponse | undefined>;
}
