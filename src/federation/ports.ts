/** The storage the keyring needs (src/storage/server-keys-store.ts implements it). */
import type { CheckedKeyResponse, ServerKeyEntry } from './key-response.js';

export interface StoredKeyResponse {
  /** The key the answer is kept for (one it lists). */
  readonly keyId: string;
  readonly json: Readonly<Record<string, unknown>>;
  readonly validUntilTs: number;
  readonly fetchedTs: number;
}

export interface ServerKeyStore {
  /** Every key known for the server, current and old. */
  serverKeys(serverName: string): Promise<ServerKeyEntry[]>;
  /**
   * Records a checked answer in one transaction: its keys (a key's validity is never shortened, an old
   * key's is its expired_ts) and the answer itself, kept for each key it lists (current or old) unless that
   * key's stored answer is valid longer.
   */
  saveKeyResponse(response: CheckedKeyResponse, fetchedTs: number): Promise<void>;
  /** The server's stored answers, one per key (several keys may share one), for notary replies. */
  keyResponses(serverName: string): Promise<StoredKeyResponse[]>;
}
