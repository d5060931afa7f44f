export type { PduJson } from './pdu.js';
export { stringField } from './pdu.js';
export { DEFAULT_ROOM_VERSION, ROOM_VERSIONS, getRoomVersion } from './room-versions.js';
export type {
  EventIdFormat,
  RoomIdFormat,
  RoomVersionDisposition,
  RoomVersionRules,
  StateResolutionAlgorithm,
} from './room-versions.js';
export { redactEvent } from './redaction.js';
export { checkContentHash, computeContentHash, computeReferenceHash, withContentHash } from './hashes.js';
export { EventIdError, eventIdFor, eventIdOf } from './event-id.js';
export { signEvent, verifyEventSignature } from './signing.js';
export type { RoomEvent, StateKey, StateMap } from './event.js';
export { parseStateKey, stateKey, stateKeyOf } from './event.js';
export type { AuthResult, AuthStateLookup } from './auth/types.js';
export type { PowerLevelField, PowerLevels } from './auth/power-levels.js';
export {
  POWER_LEVEL_FIELDS,
  eventPowerLevel,
  notificationPowerLevel,
  parsePowerLevelValue,
  parsePowerLevels,
  powerLevelOf,
  powerLevelsContent,
  roomCreators,
  userPowerLevel,
} from './auth/power-levels.js';
export { checkAuth, requiredSignatureServers } from './auth/check-auth.js';
export { authEventsSelection, checkAuthEvents } from './auth/auth-events.js';
export type { AuthEventsSelectionInput, CheckAuthEventsOptions } from './auth/auth-events.js';
export { membershipOf, joinRuleOf } from './auth/membership-state.js';
export { thirdPartyInvitePublicKeys, thirdPartyInviteSignatureMatches, thirdPartyInviteVerifyingKey } from './auth/third-party-invite.js';
export {
  MAX_AUTH_EVENTS,
  MAX_PDU_BYTES,
  MAX_PREV_EVENTS,
  MAX_TYPE_OR_STATE_KEY_BYTES,
  PduFormatError,
  parsePdu,
  roomIdForCreateEvent,
} from './format.js';
export type { ParsePduOptions } from './format.js';
export { buildEvent, type BuildContext, type EventDraft } from './builder.js';
export { STRIPPED_STATE_TYPES } from './stripped-state.js';
export {
  POLICY_KEY,
  POLICY_SIGNATURE_KEY_ID,
  hasPolicySignature,
  needsPolicySignature,
  policyServerOf,
  withPolicySignature,
  type PolicyServer,
} from './policy-server.js';
