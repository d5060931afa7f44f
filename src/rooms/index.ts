export { createRoomServer, type RoomServer, type RoomServerDeps, type SentEvent } from './room-server.js';
export { createReceivePipeline, type ReceiveOutcome, type ReceivePipeline, type ReceiveDeps } from './receive.js';
export { createRoomDrafts, type CreateRoomOptions, type InitialStateEvent, type RoomPreset } from './create-room.js';
export type * from './ports.js';
