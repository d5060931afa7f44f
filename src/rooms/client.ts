import { createClientRoomReads, type ClientRoomReadsDeps } from './client-reads.js';
import { createClientRoomWrites, type ClientRoomWritesDeps } from './client-rooms.js';
import { createClientHistory, type ClientHistoryDeps } from './client-history.js';
import { createClientRedact, type ClientRedactDeps } from './client-redact.js';

/** The rooms service the Client-Server API calls: one object, so each handler makes one call. */
export function createClientRooms(deps: ClientRoomWritesDeps & ClientRoomReadsDeps & ClientHistoryDeps & ClientRedactDeps) {
  return { ...createClientRoomWrites(deps), ...createClientRoomReads(deps), ...createClientHistory(deps), ...createClientRedact(deps) };
}

export type ClientRooms = ReturnType<typeof createClientRooms>;
