import { encodeBase64, signJson, type SigningKey } from '../crypto/index.js';
import type { Clock } from '../platform/clock.js';

export interface OldVerifyKey {
  readonly key: string;
  readonly expired_ts: number;
}

export interface ServerKeysDeps {
  readonly serverName: string;
  readonly signingKey: SigningKey;
  /** Keys this server signed with before, and when it stopped: remote servers still verify old events with them. */
  readonly oldVerifyKeys: Readonly<Record<string, OldVerifyKey>>;
  /** How long others may cache the answer. */
  readonly validForMs: number;
  readonly clock: Clock;
}

/**
 * This server's own key publication (GET /_matrix/key/v2/server): the current verify key and the old
 * ones, signed with the current key, valid for a configured while.
 */
export function createServerKeysService(deps: ServerKeysDeps) {
  const verifyKeys = { [deps.signingKey.keyId]: { key: encodeBase64(deps.signingKey.publicKey) } };
  return {
    serverKeys() {
      const unsigned = {
        server_name: deps.serverName,
        verify_keys: verifyKeys,
        old_verify_keys: deps.oldVerifyKeys,
        valid_until_ts: deps.clock.now() + deps.validForMs,
      };
      return signJson(unsigned, deps.serverName, deps.signingKey) as typeof unsigned & {
        signatures: Record<string, Record<string, string>>;
      };
    },
  };
}

export type ServerKeysService = ReturnType<typeof createServerKeysService>;
