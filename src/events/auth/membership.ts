/**
 * Auth rule "If type is m.room.member" (rule 5 in v1-5, 4 in v6-11, 5 in v12): joins, invites (including
 * third-party invites), leaves and kicks, bans and knocks.
 */
import { isPlainObject } from '../../crypto/index.js';
import { isUserId, serverNameOf } from '../../protocol/index.js';
import type { RoomEvent } from '../event.js';
import type { RoomVersionRules } from '../room-versions.js';
import { joinRuleOf, membershipOf } from './membership-state.js';
import { powerLevelOf, type PowerLevels } from './power-levels.js';
import { ALLOW, deny } from './result.js';
import { thirdPartyInviteSignatureMatches } from './third-party-invite.js';
import type { AuthResult, AuthStateLookup } from './types.js';

interface MemberContext {
  readonly event: RoomEvent;
  readonly target: string;
  readonly lookup: AuthStateLookup;
  readonly rules: RoomVersionRules;
  readonly levels: PowerLevels;
  readonly create: RoomEvent;
}

export function checkMember(
  event: RoomEvent,
  lookup: AuthStateLookup,
  rules: RoomVersionRules,
  levels: PowerLevels,
  create: RoomEvent,
): AuthResult {
  const target = event.stateKey;
  const membership = event.content.membership;
  if (target === undefined) return deny('m.room.member: no state_key');
  if (!Object.hasOwn(event.content, 'membership')) return deny('m.room.member: no membership in content');

  if (rules.restrictedJoins && Object.hasOwn(event.content, 'join_authorised_via_users_server')) {
    const authoriser = event.content.join_authorised_via_users_server;
    if (!isUserId(authoriser)) return deny('m.room.member: join_authorised_via_users_server is not a user ID');
    // The signature itself is verified with the other signatures (requiredSignatureServers lists this server);
    // here the event must at least carry one from that server.
    if (!hasSignatureFrom(event, serverNameOf(authoriser))) {
      return deny('m.room.member: not signed by the server of join_authorised_via_users_server');
    }
  }

  const context: MemberContext = { event, target, lookup, rules, levels, create };
  switch (membership) {
    case 'join':
      return checkJoin(context);
    case 'invite':
      return checkInvite(context);
    case 'leave':
      return checkLeave(context);
    case 'ban':
      return checkBan(context);
    case 'knock':
      if (rules.knocking) return checkKnock(context);
      break;
  }
  return deny(`m.room.member: unknown membership ${JSON.stringify(membership)}`);
}

function hasSignatureFrom(event: RoomEvent, server: string | undefined): boolean {
  const signatures = event.pdu.signatures;
  if (server === undefined || !isPlainObject(signatures)) return false;
  const byServer = signatures[server];
  return isPlainObject(byServer) && Object.keys(byServer).length > 0;
}

function creatorFor(create: RoomEvent, rules: RoomVersionRules): unknown {
  return rules.creatorIsSender ? create.sender : create.content.creator;
}

function checkJoin({ event, target, lookup, rules, levels, create }: MemberContext): AuthResult {
  if (event.prevEvents.length === 1 && event.prevEvents[0] === create.eventId && target === creatorFor(create, rules)) {
    return ALLOW; // the creator's own first join, right after the create event
  }
  if (event.sender !== target) return deny('m.room.member join: sender is not the state_key');
  const current = membershipOf(target, lookup);
  if (current === 'ban') return deny('m.room.member join: user is banned');
  const joinRule = joinRuleOf(lookup);
  if (joinRule === 'invite' || (rules.knocking && joinRule === 'knock')) {
    return current === 'invite' || current === 'join'
      ? ALLOW
      : deny(`m.room.member join: join rule is ${joinRule} and the user is not invited`);
  }
  if ((rules.restrictedJoins && joinRule === 'restricted') || (rules.knockRestrictedJoins && joinRule === 'knock_restricted')) {
    if (current === 'join' || current === 'invite') return ALLOW;
    const authoriser = event.content.join_authorised_via_users_server;
    if (typeof authoriser !== 'string') {
      return deny(`m.room.member join: join rule is ${joinRule} and join_authorised_via_users_server is missing`);
    }
    if (membershipOf(authoriser, lookup) !== 'join') {
      return deny(`m.room.member join: join_authorised_via_users_server ${authoriser} is not joined`);
    }
    if (powerLevelOf(authoriser, levels) < levels.invite) {
      return deny(`m.room.member join: join_authorised_via_users_server ${authoriser} cannot invite`);
    }
    return ALLOW;
  }
  if (joinRule === 'public') return ALLOW;
  return deny(`m.room.member join: join rule ${JSON.stringify(joinRule)} does not allow joining`);
}

function checkInvite(context: MemberContext): AuthResult {
  const { event, target, lookup, levels } = context;
  if (Object.hasOwn(event.content, 'third_party_invite')) return checkThirdPartyInvite(context);
  if (membershipOf(event.sender, lookup) !== 'join') return deny('m.room.member invite: sender is not joined');
  const current = membershipOf(target, lookup);
  if (current === 'join') return deny('m.room.member invite: target is already joined');
  if (current === 'ban') return deny('m.room.member invite: target is banned');
  if (powerLevelOf(event.sender, levels) >= levels.invite) return ALLOW;
  return deny('m.room.member invite: sender is below the invite level');
}

function checkThirdPartyInvite({ event, target, lookup }: MemberContext): AuthResult {
  const rule = 'm.room.member invite (third_party_invite)';
  if (membershipOf(target, lookup) === 'ban') return deny(`${rule}: target is banned`);
  const invite = event.content.third_party_invite;
  const signed = isPlainObject(invite) ? invite.signed : undefined;
  if (!isPlainObject(signed)) return deny(`${rule}: no signed object`);
  const { mxid, token } = signed;
  if (typeof mxid !== 'string' || typeof token !== 'string') return deny(`${rule}: signed has no mxid and token`);
  if (mxid !== target) return deny(`${rule}: signed.mxid is not the state_key`);
  const thirdPartyInvite = lookup('m.room.third_party_invite', token);
  if (thirdPartyInvite === undefined) return deny(`${rule}: no m.room.third_party_invite for the token`);
  if (thirdPartyInvite.sender !== event.sender) {
    return deny(`${rule}: sender is not the sender of the m.room.third_party_invite`);
  }
  if (thirdPartyInviteSignatureMatches(signed, thirdPartyInvite)) return ALLOW;
  return deny(`${rule}: no signature in signed matches a public key of the m.room.third_party_invite`);
}

function checkLeave({ event, target, lookup, rules, levels }: MemberContext): AuthResult {
  const current = membershipOf(target, lookup);
  if (event.sender === target) {
    const mayLeave = current === 'invite' || current === 'join' || (rules.knocking && current === 'knock');
    return mayLeave ? ALLOW : deny(`m.room.member leave: user's membership is ${current ?? 'none'}`);
  }
  if (membershipOf(event.sender, lookup) !== 'join') return deny('m.room.member leave: sender is not joined');
  const senderLevel = powerLevelOf(event.sender, levels);
  if (current === 'ban' && senderLevel < levels.ban) return deny('m.room.member leave: unban needs the ban level');
  if (senderLevel >= levels.kick && powerLevelOf(target, levels) < senderLevel) return ALLOW;
  return deny('m.room.member leave: sender is below the kick level or not above the target');
}

function checkBan({ event, target, lookup, levels }: MemberContext): AuthResult {
  if (membershipOf(event.sender, lookup) !== 'join') return deny('m.room.member ban: sender is not joined');
  const senderLevel = powerLevelOf(event.sender, levels);
  if (senderLevel >= levels.ban && powerLevelOf(target, levels) < senderLevel) return ALLOW;
  return deny('m.room.member ban: sender is below the ban level or not above the target');
}

function checkKnock({ event, target, lookup, rules }: MemberContext): AuthResult {
  const joinRule = joinRuleOf(lookup);
  if (joinRule !== 'knock' && !(rules.knockRestrictedJoins && joinRule === 'knock_restricted')) {
    return deny(`m.room.member knock: join rule ${JSON.stringify(joinRule)} does not allow knocking`);
  }
  if (event.sender !== target) return deny('m.room.member knock: sender is not the state_key');
  const current = membershipOf(event.sender, lookup);
  if (current === 'ban' || current === 'invite' || current === 'join') {
    return deny(`m.room.member knock: user's membership is already ${current}`);
  }
  return ALLOW;
}

