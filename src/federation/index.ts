export { createServerKeysService, type ServerKeysService, type OldVerifyKey } from './server-keys.js';
export {
  formatXMatrix,
  parseXMatrix,
  requestSigningObject,
  signRequest,
  verifyRequestSignature,
  XMatrixParseError,
  type SignedRequest,
  type XMatrixAuth,
} from './x-matrix.js';
export { isPrivateAddress } from '../platform/addresses.js';
export {
  cacheLifetime,
  createServerResolver,
  DEFAULT_FEDERATION_PORT,
  readWellKnown,
  resolveDelegated,
  resolveFromSrv,
  resolveWithoutLookup,
  type ResolvedServer,
  type ResolverDeps,
  type ServerResolver,
  type SrvRecord,
  type WellKnownAnswer,
  type WellKnownResponse,
} from './resolver.js';
export {
  connectableAddresses,
  createFederationClient,
  FederationRequestError,
  formatQuery,
  systemDns,
  wellKnownFetcher,
  type AddressLookup,
  type FederationClient,
  type FederationClientDeps,
  type FederationFailure,
  type FederationRequestOptions,
} from './client.js';
export { checkServerKeyResponse, KeyResponseError, MAX_KEY_VALIDITY_MS, type CheckedKeyResponse, type ServerKeyEntry } from './key-response.js';
export type { ServerKeyStore, StoredKeyResponse } from './ports.js';
export { createKeyring, keyLookupOf, type Keyring, type KeyringDeps, type KeyOptions, type NotaryCriteria, type TrustedKeyServer } from './keyring.js';
export { createFederationSender, type FederationSender, type FederationSenderDeps } from './sender.js';
export { DEFAULT_BACKOFF, MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION, type BackoffPolicy } from './queue.js';
export type { DestinationState, FederationQueueStore, PduForDestination, QueuedBatch, QueuedEdu, QueuedPdu } from './sender-ports.js';
export { announceQueuedOnBus, FEDERATION_QUEUED_CHANNEL, federationSenderOnBus } from './sender-bus.js';
export { electFederationSender, SENDER_CHECK_EVERY_MS, type RoleLock, type SenderElection, type SenderElectionDeps } from './sender-election.js';
export {
  createEduProducers,
  type EduProducerDeps,
  type EduProducers,
  type EduQueue,
  type OutboundDeviceUpdate,
  type OutboundPresence,
  type OutboundReceipt,
  type OutboundToDevice,
} from './edu-producers.js';
export { createTransactionReceiver, MAX_EDUS, MAX_PDUS, type TransactionBody, type TransactionDeps, type TransactionReceiver } from './transactions.js';
export { createInboundEdus, REMOTE_TYPING_TIMEOUT_MS, type InboundEdu, type InboundEduDeps, type InboundEdus } from './inbound-edus.js';
export { createGapFiller, GET_MISSING_LIMIT, type GapFiller, type GapFillerDeps } from './missing-events.js';
export { createBackfiller, MAX_BACKFILL_EVENTS, RETRY_AFTER_MS, type Backfiller, type BackfillDeps } from './backfill.js';
export type { InboundTransactionStore, RemoteToDeviceMessage, TransactionResponse } from './inbound-ports.js';
