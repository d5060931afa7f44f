import {
  hasPolicySignature,
  parsePdu,
  POLICY_KEY,
  policyServerOf,
  withPolicySignature,
  type PduJson,
  type PolicyServer,
  type RoomEvent,
  type RoomVersionRules,
} from '../events/index.js';
import { MatrixError } from '../protocol/index.js';
import type { RoomReads } from './ports.js';
import { relayedRefusal } from './remote-pdus.js';

/**
 * A room's policy server at work (spec 1.18, "Policy Servers"): which server a room names, asking it to sign
 * an event, and checking its answer. Local sends ask before the event is stored (room-server.ts); events
 * received over federation without its signature ask again, and are soft-failed when it will not sign
 * (receive.ts). Hearth is not a policy server itself.
 */

/** Asks a policy server to sign (federation's POST /_matrix/policy/v1/sign), as federation's client fits. */
export interface PolicySigner {
  /** The server's answer as it came (its signatures); throws the error it answered with, or why none came. */
  askToSign(via: string, pdu: PduJson): Promise<unknown>;
}

/**
 * The policy server the room uses now: a valid m.room.policy in its current state whose server has a
 * joined user in the room. `content`: the m.room.policy content when the caller read it already.
 */
export async function roomPolicyServer(
  reads: Pick<RoomReads, 'currentStateEntries' | 'events' | 'hasJoinedMember'>,
  roomId: string,
  content?: Readonly<Record<string, unknown>> | null,
): Promise<PolicyServer | undefined> {
  let policyContent = content ?? undefined;
  if (content === undefined) {
    const eventId = (await reads.currentStateEntries(roomId, [POLICY_KEY])).get(POLICY_KEY);
    policyContent = eventId === undefined ? undefined : (await reads.events([eventId])).get(eventId)?.event.content;
  }
  const server = policyServerOf(policyContent);
  if (server === undefined) return undefined;
  return (await reads.hasJoinedMember(roomId, server.via)) ? server : undefined;
}

/**
 * The event with the policy server's signature, asked for now. Throws M_FORBIDDEN (or the server's own
 * refusal, relayed as it came, as the spec asks) when it will not sign, and M_UNKNOWN (502) when it could
 * not be asked. Every earlier signature stays.
 */
export async function policySigned(signer: PolicySigner | undefined, server: PolicyServer, event: RoomEvent, rules: RoomVersionRules): Promise<RoomEvent> {
  if (signer === undefined) {
    throw new MatrixError('M_FORBIDDEN', `Room ${event.roomId} has its events checked by the policy server ${server.via}, which this server cannot reach (federation is off)`);
  }
  let answer: unknown;
  try {
    answer = await signer.askToSign(server.via, event.pdu);
  } catch (err) {
    const refusal = relayedRefusal(err, `The room's policy server ${server.via} refused the event`);
    if (refusal) throw refusal;
    throw new MatrixError('M_UNKNOWN', `The room's policy server ${server.via} could not be asked to check the event: ${(err as Error).message}`, {
      status: 502,
      cause: err,
    });
  }
  const pdu = withPolicySignature(event.pdu, server, answer);
  if (pdu === undefined || !hasPolicySignature(pdu, server, rules)) {
    throw new MatrixError('M_FORBIDDEN', `The room's policy server ${server.via} answered without a valid signature for the event`);
  }
  return parsePdu(pdu, rules);
}
