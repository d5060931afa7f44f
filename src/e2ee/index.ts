export type * from './ports.js';
export {
  createToDeviceService,
  TO_DEVICE_SYNC_LIMIT,
  type ToDeviceDeps,
  type ToDeviceEvent,
  type ToDeviceFor,
  type ToDeviceRequest,
  type ToDeviceService,
} from './to-device.js';
export {
  createKeyBackupService,
  replacesStoredKey,
  MEGOLM_BACKUP_V1,
  type BackupVersionInfo,
  type KeyBackupDeps,
  type KeyBackupService,
  type RoomKeysUpdate,
} from './key-backup.js';
export { createKeysService, type ClaimResponse, type KeysDeps, type KeysService, type QueryResponse, type UploadRequest } from './keys.js';
export { createCrossSigning, CROSS_SIGNING_FLOWS, type CrossSigning, type CrossSigningDeps, type CrossSigningUpload } from './cross-signing.js';
export { checkDeviceKeys, signedBy, type KeyJson } from './key-json.js';
export {
  createFederationKeys,
  type DeviceListPositions,
  type FederationKeys,
  type FederationKeysDeps,
  type FederationKeysQueryResponse,
  type UserDevicesResponse,
} from './federation-keys.js';
export {
  createDehydratedDevices,
  type DehydratedDevices,
  type DehydratedDevicesDeps,
  type DehydratedDeviceUpload,
  type DehydratedEventsPage,
} from './dehydrated-devices.js';
export { type DeviceUpdate } from './keys.js';
export { type RemoteToDevice } from './to-device.js';
export {
  applyDeviceListUpdate,
  parseUserDevices,
  queriedDeviceKeys,
  type DeviceListUpdateOutcome,
  type RemoteDevice,
  type RemoteDeviceList,
} from './remote-device-lists.js';
export type { RemoteDeviceListRow, RemoteDeviceListStore } from './ports.js';
export {
  createRemoteKeys,
  DEFAULT_REMOTE_KEYS_TIMEOUT_MS,
  remoteTimeout,
  type FederationRequests,
  type RemoteClaimResult,
  type RemoteKeys,
  type RemoteKeysDeps,
  type RemoteQueryResult,
  type RemoteUpdateOutcome,
} from './remote-keys.js';
