export { createRoomServer, type RoomServer, type RoomServerDeps, type SendOptions, type SentEvent } from './room-server.js';
export { createGuestAccess, admitsGuests, type GuestAccess, type GuestAccessDeps } from './guest-access.js';
export { createReceivePipeline, type ReceiveOutcome, type ReceivePipeline, type ReceiveDeps, type ReceiveOptions } from './receive.js';
export { createRoomDrafts, type CreateRoomOptions, type InitialStateEvent, type RoomPreset } from './create-room.js';
export type * from './ports.js';
export { createClientRooms, type ClientRooms } from './client.js';
export { createUpgradeCarry, type UpgradeCarry } from './upgrade-carry.js';
export type { Caller, ClientCreateRoom } from './client-rooms.js';
export type { RoomMember } from './client-reads.js';
export { toClientEvent, type ClientEvent, type ClientEventOptions, type ClientUnsigned } from './client-event.js';
export { createMemberProfiles, type MemberProfiles, type MemberProfilesDeps } from './member-profiles.js';
export { createAliasService, newLocalAlias, type AliasService, type AliasServiceDeps, type AppServiceAliases } from './aliases.js';
export {
  createRoomDirectory,
  type DirectoryVisibility,
  type NetworkDirectoryStore,
  type NetworkList,
  type PublicRoomChunk,
  type PublicRoomsPage,
  type PublicRoomsQuery,
  type RoomDirectory,
  type RoomDirectoryDeps,
} from './directory.js';
export {
  createVisibility,
  historyVisibilityOf,
  mayUserSee,
  type HistoryVisibility,
  type Visibility,
  type VisibilityDeps,
  type VisibilityInput,
  type VisibilityReads,
  type VisibilityState,
} from './visibility.js';
export {
  createClientEvents,
  redactedView,
  redactionApplies,
  type ClientEventReads,
  type ClientEvents,
  type ClientEventsDeps,
  type Servable,
  type BundledRelations,
  type BundledUnsigned,
  type ServeOptions,
} from './redactions.js';
export { eventMatcher, parseRoomEventFilter, type EventSelection, type RoomEventFilter } from './room-event-filter.js';
export type { ClientHistory, EventContext, MessagesPage, MessagesQuery } from './client-history.js';
export type { RelationsPage, RelationsQuery, ThreadsPage, ThreadsQuery } from './client-relations.js';
export { isValidEdit, latestEdit, relationOf, type Aggregation, type AggregationReads } from './aggregations.js';
export {
  createFederationReads,
  DEFAULT_MISSING_EVENTS_LIMIT,
  MAX_BACKFILL_LIMIT,
  MAX_MISSING_EVENTS_LIMIT,
  type FederationReads,
  type JoinState,
  type FederationReadsDeps,
  type FederationRoomReads,
  type MissingEventsQuery,
} from './federation-reads.js';
export { serverAclAllows } from './server-acl.js';
export {
  createFederationMembership,
  type FederationMembership,
  type FederationMembershipDeps,
  type HandshakeMembership,
  type InviteRequest,
  type MembershipTemplate,
} from './federation-membership.js';
export { createRemoteMembership, type FederationRequests, type RemoteMembership, type RemoteMembershipDeps } from './remote-membership.js';
export { roomPolicyServer, type PolicySigner } from './policy-servers.js';
export { RemoteAnswerError } from './remote-pdus.js';
export { createRemotePublicRooms, type DirectoryQueries, type RemotePublicRooms } from './directory-federation.js';
export { createErasedUsers, type ErasedUsers } from './erasure.js';
export {
  createSpaceHierarchy,
  DEFAULT_LIMIT as HIERARCHY_DEFAULT_LIMIT,
  MAX_DEPTH as HIERARCHY_MAX_DEPTH,
  type FederationHierarchy,
  type HierarchyDeps,
  type HierarchyPage,
  type HierarchyQuery,
  type HierarchyRoom,
  type RemoteHierarchy,
  type RoomSummaryAnswer,
  type SpaceHierarchy,
} from './hierarchy.js';
export { createThirdPartyInvites, type ThirdPartyInviteRequest, type ThirdPartyInvites, type ThirdPartyInvitesDeps } from './third-party-invites.js';
export { createRoomPeeks, type PeekStore, type RoomPeeks, type RoomPeeksDeps } from './peeks.js';
export {
  createAdminRooms,
  roomJson,
  ROOM_ORDERS,
  SUMMARY_TYPES,
  type AdminRoomDetailsJson,
  type AdminRoomJson,
  type AdminRooms,
  type AdminRoomsDeps,
  type AdminRoomsQuery,
  type AdminRoomsStore,
  type AdminRoomRow,
  type RoomBlock,
  type ShutdownActions,
  type ShutdownRequest,
  type ShutdownResult,
} from './admin-rooms.js';
export { createMutualRooms, MUTUAL_ROOMS_BATCH, type MutualRooms, type MutualRoomsDeps } from './mutual-rooms.js';
