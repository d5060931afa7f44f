export { createRoomServer, type RoomServer, type RoomServerDeps, type SendOptions, type SentEvent } from './room-server.js';
export { createReceivePipeline, type ReceiveOutcome, type ReceivePipeline, type ReceiveDeps } from './receive.js';
export { createRoomDrafts, type CreateRoomOptions, type InitialStateEvent, type RoomPreset } from './create-room.js';
export type * from './ports.js';
export { createClientRooms, type ClientRooms } from './client.js';
export type { Caller, ClientCreateRoom } from './client-rooms.js';
export type { RoomMember } from './client-reads.js';
export { toClientEvent, type ClientEvent, type ClientEventOptions, type ClientUnsigned } from './client-event.js';
export { createMemberProfiles, type MemberProfiles, type MemberProfilesDeps } from './member-profiles.js';
