import { Type } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';
import { AuthDict } from './accounts.js';

/** Device management (client-server API, "Device management"): list, get, rename and delete one's devices. */

/** A device as the spec shows it: fields the server does not know are absent. */
export const Device = Type.Object({
  device_id: Type.String(),
  display_name: Type.Optional(Type.String()),
  last_seen_ip: Type.Optional(Type.String()),
  last_seen_ts: Type.Optional(Type.Integer()),
});

const DeviceIdParams = Type.Object({ deviceId: Type.String() });

/** GET /devices: every device of the caller. */
export const getDevices = defineEndpoint({
  name: 'getDevices',
  method: 'GET',
  ...clientV3('/devices'),
  auth: 'user',
  response: Type.Object({ devices: Type.Array(Device) }),
});

/** GET /devices/{deviceId}: one device of the caller. */
export const getDevice = defineEndpoint({
  name: 'getDevice',
  method: 'GET',
  ...clientV3('/devices/{deviceId}'),
  auth: 'user',
  params: DeviceIdParams,
  response: Device,
});

/** PUT /devices/{deviceId}: rename a device. */
export const updateDevice = defineEndpoint({
  name: 'updateDevice',
  method: 'PUT',
  ...clientV3('/devices/{deviceId}'),
  auth: 'user',
  params: DeviceIdParams,
  body: Type.Object({ display_name: Type.Optional(Type.String()) }),
  response: Type.Object({}),
});

/**
 * DELETE /devices/{deviceId}, behind user-interactive auth. No body schema: clients send the first
 * request without a body (Synapse reads a missing body as {}), and the route plumbing refuses a missing
 * body wherever a schema is declared; the handler checks DeleteDeviceBody itself.
 */
export const deleteDevice = defineEndpoint({
  name: 'deleteDevice',
  method: 'DELETE',
  ...clientV3('/devices/{deviceId}'),
  auth: 'user',
  params: DeviceIdParams,
  response: Type.Object({}),
});

export const DeleteDeviceBody = Type.Object({ auth: Type.Optional(AuthDict) });

/** POST /delete_devices: delete several devices, behind user-interactive auth. */
export const deleteDevices = defineEndpoint({
  name: 'deleteDevices',
  method: 'POST',
  ...clientV3('/delete_devices'),
  auth: 'user',
  body: Type.Object({ devices: Type.Array(Type.String()), auth: Type.Optional(AuthDict) }),
  response: Type.Object({}),
});
