export { MatrixError, AuthRequiredError, ERRCODE_STATUS, isErrcode, isMatrixError, RelayedMatrixError } from './errors.js';
export type { AuthFlowsBody, Errcode, MatrixErrorOptions } from './errors.js';
export {
  parseServerName, isServerName, splitServerName, isIpLiteral, MAX_SERVER_NAME_LENGTH,
  parseUserId, isUserId, isValidNewLocalpart, isCompliantUserId, makeUserId, userIdLocalpart, userIdServer,
  parseRoomId, isRoomId, parseEventId, isEventId, parseRoomAlias, isRoomAlias, parseRoomIdOrAlias, serverNameOf,
  parseDeviceId, isDeviceId, parseOpaqueId, isOpaqueId, isNamespacedId, MAX_IDENTIFIER_BYTES,
} from './identifiers.js';
export type {
  ServerName, UserId, RoomId, EventId, RoomAlias, DeviceId, UserIdOptions, DeviceIdOptions, OpaqueIdOptions,
} from './identifiers.js';
export {
  STREAMS, ZERO_STREAM_TOKEN, formatStreamToken, parseStreamToken, formatPaginationToken, parsePaginationToken,
} from './stream-token.js';
export type { StreamName, StreamToken } from './stream-token.js';
export { parseThirdPartyInstanceId, thirdPartyInstanceId } from './third-party.js';
