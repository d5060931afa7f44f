export type * from './ports.js';
export {
  createTypingService,
  DEFAULT_TYPING_TIMEOUT_MS,
  MAX_TYPING_TIMEOUT_MS,
  timerScheduler,
  type Scheduler,
  type TypingDeps,
  type TypingNotice,
  type TypingRelay,
  type TypingService,
  type TypingSince,
  type TypingUpdate,
} from './typing.js';
export {
  createReceiptService,
  type ReadMarkers,
  type ReceiptContent,
  type ReceiptDeps,
  type ReceiptService,
  type ReceiptsSince,
} from './receipts.js';
export {
  createPresenceService,
  CURRENTLY_ACTIVE_MS,
  type PresenceContent,
  type PresenceDeps,
  type PresenceEvent,
  type PresenceService,
  type PresenceSince,
} from './presence.js';
export { joinedRoom, membershipOf, shareARoom } from './membership.js';
