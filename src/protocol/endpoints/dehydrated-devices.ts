import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/**
 * Dehydrated devices (MSC3814, unstable v1; /versions advertises org.matrix.msc3814). Key objects are
 * checked by src/e2ee/key-json.ts as for POST /keys/upload; the contracts fix the outer shapes.
 */

const PREFIX = '/_matrix/client/unstable/org.matrix.msc3814.v1';

/** The client's encrypted device, opaque to the server beyond its algorithm. */
const DeviceData = Type.Object({ algorithm: Type.String() });
const KeyObject = Type.Record(Type.String(), Type.Unknown());
const ToDeviceEvent = Type.Object({ type: Type.String(), sender: Type.String(), content: KeyObject });
const Events = Type.Array(ToDeviceEvent);
const DeviceParams = Type.Object({ deviceId: Type.String() });
/** Events per page; the default is what /sync hands out at once. */
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }));

export const putDehydratedDevice = defineEndpoint({
  name: 'putDehydratedDevice',
  method: 'PUT',
  path: `${PREFIX}/dehydrated_device`,
  auth: 'user',
  body: Type.Object({
    device_id: Type.String(),
    device_data: DeviceData,
    initial_device_display_name: Type.Optional(Type.String()),
    device_keys: KeyObject,
    one_time_keys: Type.Optional(KeyObject),
    fallback_keys: Type.Optional(KeyObject),
  }),
  response: Type.Object({ device_id: Type.String() }),
});

export const getDehydratedDevice = defineEndpoint({
  name: 'getDehydratedDevice',
  method: 'GET',
  path: `${PREFIX}/dehydrated_device`,
  auth: 'user',
  response: Type.Object({ device_id: Type.String(), device_data: KeyObject }),
});

export const deleteDehydratedDevice = defineEndpoint({
  name: 'deleteDehydratedDevice',
  method: 'DELETE',
  path: `${PREFIX}/dehydrated_device`,
  auth: 'user',
  response: Type.Object({ device_id: Type.String() }),
});

/** The MSC's form: next_batch in the body, and always one in the reply (no events after the last page). */
export const postDehydratedDeviceEvents = defineEndpoint({
  name: 'postDehydratedDeviceEvents',
  method: 'POST',
  path: `${PREFIX}/dehydrated_device/{deviceId}/events`,
  auth: 'user',
  params: DeviceParams,
  query: Type.Object({ limit: Limit }),
  body: Type.Object({ next_batch: Type.Optional(Type.String()) }),
  response: Type.Object({ events: Events, next_batch: Type.String() }),
});

/** The later draft's form (spec pagination): `from` in the query, next_batch only while more may follow. */
export const getDehydratedDeviceEvents = defineEndpoint({
  name: 'getDehydratedDeviceEvents',
  method: 'GET',
  path: `${PREFIX}/dehydrated_device/{deviceId}/events`,
  auth: 'user',
  params: DeviceParams,
  query: Type.Object({ from: Type.Optional(Type.String()), limit: Limit }),
  response: Type.Object({ events: Events, next_batch: Type.Optional(Type.String()) }),
});
