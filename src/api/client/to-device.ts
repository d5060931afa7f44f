import type { FastifyInstance } from 'fastify';
import type { ToDeviceService } from '../../e2ee/index.js';
import { sendToDevice } from '../../protocol/endpoints/to-device.js';
import { route } from '../plumbing/route.js';

/** Send-to-device messages, idempotent per sending device and transaction id. */
export function toDeviceRoutes(toDevice: ToDeviceService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, sendToDevice, async ({ params, body, requester }) => {
      await toDevice.send(requester, params.eventType, params.txnId, body.messages);
      return {};
    });
  };
}
