import { createLegacyEvents } from './legacy-events.js';
import { createLegacyInitialSync } from './legacy-initial-sync.js';
import type { LegacySyncDeps } from './legacy-reads.js';

/** The v1 endpoints (GET /events, /initialSync, /rooms/{roomId}/initialSync) as one service for the API. */
export function createLegacySync(deps: LegacySyncDeps) {
  return { ...createLegacyEvents(deps), ...createLegacyInitialSync(deps) };
}

export type LegacySync = ReturnType<typeof createLegacySync>;
