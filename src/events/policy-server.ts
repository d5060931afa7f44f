import { decodeBase64, isPlainObject } from '../crypto/index.js';
import { isServerName } from '../protocol/index.js';
import { stateKey, type RoomEvent, type StateKey } from './event.js';
import type { PduJson } from './pdu.js';
import type { RoomVersionRules } from './room-versions.js';
import { verifyEventSignature } from './signing.js';

/**
 * Policy servers (spec 1.18; server-server API, "Policy Servers"): a room whose m.room.policy names a server
 * and its key has every event checked by that server before it is sent; the server's signature, with the
 * key in the state event, marks an event recommended for inclusion. Pure: reading the state, asking the
 * server and soft-failing are the room server's and the receive pipeline's.
 */

export const POLICY_KEY: StateKey = stateKey('m.room.policy', '');

/** The key id of a policy server's signature, always the same (the key itself is in the room's state). */
export const POLICY_SIGNATURE_KEY_ID = 'ed25519:policy_server';

export interface PolicyServer {
  /** The server asked to sign, which must have a joined user in the room for it to count. */
  readonly via: string;
  /** Its ed25519 public key from the state event. */
  readonly publicKey: Uint8Array;
}

/**
 * The policy server an m.room.policy content names, or undefined when the content is not valid (the room
 * then uses none): `via` a server name and `public_keys.ed25519` unpadded base64 of a 32-byte key.
 */
export function policyServerOf(content: Readonly<Record<string, unknown>> | undefined): PolicyServer | undefined {
  if (content === undefined) return undefined;
  const { via, public_keys: keys } = content;
  if (typeof via !== 'string' || !isServerName(via) || !isPlainObject(keys) || typeof keys.ed25519 !== 'string') return undefined;
  try {
    const publicKey = decodeBase64(keys.ed25519);
    return publicKey.length === 32 ? { via, publicKey } : undefined;
  } catch {
    return undefined;
  }
}

/** Every event but the m.room.policy state event itself (empty state key) is checked by the policy server. */
export function needsPolicySignature(event: Pick<RoomEvent, 'type' | 'stateKey'>): boolean {
  return !(event.type === 'm.room.policy' && event.stateKey === '');
}

/** Whether the event carries the policy server's valid signature (over its redacted form, like any signature). */
export function hasPolicySignature(pdu: PduJson, server: PolicyServer, rules: RoomVersionRules): boolean {
  return verifyEventSignature(pdu, server.via, POLICY_SIGNATURE_KEY_ID, server.publicKey, rules);
}

/**
 * The event with the signature a policy server answered added, keeping every signature it had: the policy
 * server may share its name with the event's origin, whose own signature must stay. Undefined when the
 * answer holds no signature of the policy server.
 */
export function withPolicySignature(pdu: PduJson, server: PolicyServer, answer: unknown): PduJson | undefined {
  const byServer = isPlainObject(answer) ? answer[server.via] : undefined;
  const signature = isPlainObject(byServer) ? byServer[POLICY_SIGNATURE_KEY_ID] : undefined;
  if (typeof signature !== 'string') return undefined;
  const signatures = isPlainObject(pdu.signatures) ? pdu.signatures : {};
  const existing = signatures[server.via];
  const own = isPlainObject(existing) ? existing : {};
  return { ...pdu, signatures: { ...signatures, [server.via]: { ...own, [POLICY_SIGNATURE_KEY_ID]: signature } } };
}
