import type { FastifyInstance } from 'fastify';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  DeleteDeviceBody,
  deleteDevice,
  deleteDevices,
  getDevice,
  getDevices,
  updateDevice,
} from '../../protocol/endpoints/devices.js';
import { MatrixError } from '../../protocol/index.js';
import type { DeviceRecord, DeviceService } from '../../users/index.js';
import { route } from '../plumbing/route.js';

/** The spec's device object: unknown fields are left out rather than null. */
function deviceJson(device: DeviceRecord) {
  return {
    device_id: device.deviceId,
    ...(device.displayName === null ? {} : { display_name: device.displayName }),
    ...(device.lastSeenIp === null ? {} : { last_seen_ip: device.lastSeenIp }),
    ...(device.lastSeenTs === null ? {} : { last_seen_ts: device.lastSeenTs }),
  };
}

const deleteDeviceBody = TypeCompiler.Compile(DeleteDeviceBody);

/** Device management: each handler unpacks, calls the device service, shapes. */
export function deviceRoutes(devices: DeviceService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getDevices, async ({ requester }) => ({ devices: (await devices.list(requester)).map(deviceJson) }));

    route(app, getDevice, async ({ requester, params }) => deviceJson(await devices.get(requester, params.deviceId)));

    route(app, updateDevice, async ({ requester, params, body }) => {
      await devices.update(requester, params.deviceId, body.display_name);
      return {};
    });

    route(app, deleteDevice, async ({ requester, params, request }) => {
      // A missing body is the first step of user-interactive auth (see the contract).
      const body: unknown = request.body ?? {};
      if (!deleteDeviceBody.Check(body)) throw new MatrixError('M_BAD_JSON', 'The body must be an object with an optional auth object');
      await devices.delete(requester, params.deviceId, body.auth);
      return {};
    });

    route(app, deleteDevices, async ({ requester, body }) => {
      await devices.deleteMany(requester, body.devices, body.auth);
      return {};
    });
  };
}
