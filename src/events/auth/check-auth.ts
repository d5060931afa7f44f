/**
 * The authorization rules of room versions 1-12 (rooms/fragments/v1-auth-rules.md, v3-auth-rules.md,
 * v8-auth-rules.md and the rules on rooms/v6.md, v7.md, v10.md, v11.md, v12.md), checked against one set
 * of state. Rule numbers move between versions; refusals name the rule by its subject instead.
 */
import { isUserId, serverNameOf, type EventId, type UserId } from '../../protocol/index.js';
import type { RoomEvent } from '../event.js';
import { getRoomVersion, type RoomVersionRules } from '../room-versions.js';
import { checkMember } from './membership.js';
import { membershipOf } from './membership-state.js';
import { checkPowerLevelsChange } from './power-levels-change.js';
import { eventPowerLevel, powerLevelOf, powerLevelsContent } from './power-levels.js';
import { ALLOW, deny } from './result.js';
import type { AuthResult, AuthStateLookup } from './types.js';

function serverOf(id: string): string | undefined {
  return serverNameOf(id as UserId);
}

/**
 * Whether `event` is allowed by the auth rules against the state `lookup` describes (the state before the
 * event, the current state, or the state its auth events make up: see checkAuthEvents, which also runs
 * the rules about auth_events themselves). Signatures and hashes are checked before this; for v8+ joins
 * through join_authorised_via_users_server, the signature of that user's server must be among them
 * (requiredSignatureServers lists it).
 */
export function checkAuth(event: RoomEvent, lookup: AuthStateLookup, rules: RoomVersionRules): AuthResult {
  if (event.type === 'm.room.create') return checkCreate(event, rules);

  const create = lookup('m.room.create', '');
  if (create === undefined) return deny('no m.room.create event in the room state');
  if (rules.roomIdFormat === 'create-event-hash') {
    // v12 rule 2: the room id is the create event's id with `!` for `$`.
    if (event.roomId !== '!' + create.eventId.slice(1)) {
      return deny("room_id is not the event id of the room's m.room.create event");
    }
  } else if (create.roomId !== event.roomId) {
    return deny('m.room.create event is in another room');
  }

  if (create.content['m.federate'] === false && serverOf(event.sender) !== serverOf(create.sender)) {
    return deny('m.federate is false and the sender is from another server than the creator');
  }

  if (rules.aliasesSpecialCase && event.type === 'm.room.aliases') {
    if (event.stateKey === undefined) return deny('m.room.aliases: no state_key');
    if (serverOf(event.sender) !== event.stateKey) return deny("m.room.aliases: state_key is not the sender's server");
    return ALLOW;
  }

  const levels = powerLevelsContent(lookup, rules);
  if (event.type === 'm.room.member') return checkMember(event, lookup, rules, levels, create);

  if (membershipOf(event.sender, lookup) !== 'join') return deny('sender is not joined to the room');
  const senderLevel = powerLevelOf(event.sender, levels);

  if (event.type === 'm.room.third_party_invite') {
    return senderLevel >= levels.invite
      ? ALLOW
      : deny('m.room.third_party_invite: sender is below the invite level');
  }

  const required = eventPowerLevel(event.type, event.stateKey !== undefined, levels);
  if (required > senderLevel) return deny(`${event.type}: sender's power level is below the required ${required}`);

  if (event.stateKey?.startsWith('@') === true && event.stateKey !== event.sender) {
    return deny('state_key starts with @ and is not the sender');
  }

  if (event.type === 'm.room.power_levels') return checkPowerLevelsChange(event, lookup, rules, levels);

  if (rules.redactionsCheckedByAuth && event.type === 'm.room.redaction') {
    if (senderLevel >= levels.redact) return ALLOW;
    const target = event.redacts;
    if (target !== undefined && serverOf(target) !== undefined && serverOf(target) === serverOf(event.eventId)) {
      return ALLOW;
    }
    return deny('m.room.redaction: sender is below the redact level and the event is from another server');
  }
  return ALLOW;
}

/** Rule 1: the create event stands alone. */
function checkCreate(event: RoomEvent, rules: RoomVersionRules): AuthResult {
  if (event.prevEvents.length > 0) return deny('m.room.create: has prev_events');
  if (rules.roomIdFormat === 'create-event-hash') {
    if (Object.hasOwn(event.pdu, 'room_id')) return deny('m.room.create: has a room_id');
  } else if (serverOf(event.roomId) !== serverOf(event.sender)) {
    return deny("m.room.create: room_id's server is not the sender's");
  }
  const content = event.content;
  if (Object.hasOwn(content, 'room_version')) {
    const version = content.room_version;
    if (typeof version !== 'string' || getRoomVersion(version) === undefined) {
      return deny(`m.room.create: unknown room_version ${JSON.stringify(version)}`);
    }
  }
  if (!rules.creatorIsSender && !Object.hasOwn(content, 'creator')) return deny('m.room.create: no creator in content');
  if (rules.privilegedCreators && Object.hasOwn(content, 'additional_creators')) {
    const extra = content.additional_creators;
    if (!Array.isArray(extra) || !extra.every((user) => isUserId(user))) {
      return deny('m.room.create: additional_creators is not an array of user IDs');
    }
  }
  return ALLOW;
}

/**
 * The servers whose signatures an event needs (server-server-api "Validating hashes and signatures on
 * received events", v8 auth rule 4.2.1): the sender's; in v1-2 also the event id's; from v8 also that of
 * join_authorised_via_users_server's user.
 *
 * A third-party invite (an invite whose content has third_party_invite) names the 3pid invite's sender,
 * but "the server which actually sends the event may be a different server": the invitee's, when it is in
 * the room as the identity server tells it of the binding. So such an event needs the signature of the
 * sender's server if it carries one, else that of the invitee's server; what makes it genuine is the
 * identity server's signature on `signed`, which the auth rules check.
 */
/** An invite made from a third-party invite (its content carries third_party_invite). */
function isThirdPartyInvite(event: RoomEvent): boolean {
  return event.type === 'm.room.member' && event.content.membership === 'invite' && Object.hasOwn(event.content, 'third_party_invite');
}

export function requiredSignatureServers(event: RoomEvent, rules: RoomVersionRules): string[] {
  const servers = new Set<string>();
  const sender = serverOf(event.sender);
  const invitee = isThirdPartyInvite(event) && event.stateKey !== undefined ? serverOf(event.stateKey) : undefined;
  const signatures = event.pdu.signatures;
  const senderSigned = sender !== undefined && typeof signatures === 'object' && signatures !== null && Object.hasOwn(signatures, sender);
  if (invitee !== undefined && !senderSigned) servers.add(invitee);
  else if (sender !== undefined) servers.add(sender);
  if (rules.eventIdFormat === 'server-generated') {
    const fromId = serverNameOf(event.eventId as EventId);
    if (fromId !== undefined) servers.add(fromId);
  }
  if (rules.restrictedJoins && event.type === 'm.room.member') {
    const authoriser = event.content.join_authorised_via_users_server;
    if (isUserId(authoriser)) servers.add(serverNameOf(authoriser) as string);
  }
  return [...servers];
}
