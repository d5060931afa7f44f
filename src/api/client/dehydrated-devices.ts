import type { FastifyInstance } from 'fastify';
import type { DehydratedDevices } from '../../e2ee/index.js';
import {
  deleteDehydratedDevice,
  getDehydratedDevice,
  getDehydratedDeviceEvents,
  postDehydratedDeviceEvents,
  putDehydratedDevice,
} from '../../protocol/endpoints/dehydrated-devices.js';
import { route } from '../plumbing/route.js';

/** Dehydrated devices (MSC3814): each handler unpacks, calls the dehydrated-devices service, shapes. */
export function dehydratedDeviceRoutes(dehydrated: DehydratedDevices) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, putDehydratedDevice, ({ requester, body }) => dehydrated.upload(requester, body));

    route(app, getDehydratedDevice, ({ requester }) => dehydrated.get(requester.userId));

    route(app, deleteDehydratedDevice, ({ requester }) => dehydrated.delete(requester.userId));

    route(app, postDehydratedDeviceEvents, async ({ requester, params, query, body }) => {
      const page = await dehydrated.events(requester, params.deviceId, body.next_batch, query.limit);
      return { events: page.events, next_batch: page.nextBatch };
    });

    route(app, getDehydratedDeviceEvents, async ({ requester, params, query }) => {
      const page = await dehydrated.events(requester, params.deviceId, query.from, query.limit);
      return page.limited ? { events: page.events, next_batch: page.nextBatch } : { events: page.events };
    });
  };
}
