export { createSyncService, MAX_SYNC_TIMEOUT_MS, type SyncDeps, type SyncRequest, type SyncResponse, type SyncService } from './sync.js';
export { SyncNotifier, type StreamNotice, type SyncListener } from './notifier.js';
export { syncFilter, eventFilter, parseInlineFilter, DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT, type EventFilter, type SyncFilter } from './filter.js';
export type * from './ports.js';
export { IGNORED_USER_LIST, ignoredUsersOf } from './ignored-users.js';
export { createLegacySync, type LegacySync } from './legacy.js';
export type { LegacySyncDeps, LegacyRoomReads } from './legacy-reads.js';
export type { EventsRequest, EventsResponse } from './legacy-events.js';
export type { InitialSyncResponse, RoomSnapshot } from './legacy-initial-sync.js';
