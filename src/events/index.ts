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
