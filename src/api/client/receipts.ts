import type { FastifyInstance } from 'fastify';
import type { ReceiptService } from '../../ephemeral/index.js';
import { postReceipt, setReadMarker } from '../../protocol/endpoints/receipts.js';
import { route } from '../plumbing/route.js';

/** Read receipts and the fully-read marker. */
export function receiptRoutes(receipts: ReceiptService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, postReceipt, async ({ params, body, requester }) => {
      await receipts.sendReceipt(requester, params.roomId, params.receiptType, params.eventId, body.thread_id);
      return {};
    });

    route(app, setReadMarker, async ({ params, body, requester }) => {
      await receipts.setReadMarkers(requester, params.roomId, {
        ...(body['m.fully_read'] === undefined ? {} : { fullyRead: body['m.fully_read'] }),
        ...(body['m.read'] === undefined ? {} : { read: body['m.read'] }),
        ...(body['m.read.private'] === undefined ? {} : { readPrivate: body['m.read.private'] }),
      });
      return {};
    });
  };
}
