import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/** Receipts and read markers (client-server API, "Receipts", "Read and unread markers"). */

export const postReceipt = defineEndpoint({
  name: 'postReceipt',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/receipt/{receiptType}/{eventId}'),
  auth: 'user',
  params: Type.Object({ roomId: Type.String(), receiptType: Type.String(), eventId: Type.String() }),
  body: Type.Object({ thread_id: Type.Optional(Type.String({ minLength: 1 })) }),
  response: Type.Object({}),
});

export const setReadMarker = defineEndpoint({
  name: 'setReadMarker',
  method: 'POST',
  ...clientV3('/rooms/{roomId}/read_markers'),
  auth: 'user',
  params: Type.Object({ roomId: Type.String() }),
  body: Type.Object({
    'm.fully_read': Type.Optional(Type.String()),
    'm.read': Type.Optional(Type.String()),
    'm.read.private': Type.Optional(Type.String()),
  }),
  response: Type.Object({}),
});
