import { createClientRoomReads, type ClientRoomReadsDeps } from './client-reads.js';
import { createClientRoomWrites, type ClientRoomWritesDeps } from './client-rooms.js';

/** The rooms service the Client-Server API calls: one object, so each handler makes one call. */
export function createClientRooms(deps: ClientRoomWritesDeps & ClientRoomReadsDeps) {
  return { ...createClientRoomWrites(deps), ...createClientRoomReads(deps) };
}

export type ClientRooms = ReturnType<typeof createClientRooms>;
