export type * from './ports.js';
export {
  createToDeviceService,
  TO_DEVICE_SYNC_LIMIT,
  type ToDeviceDeps,
  type ToDeviceEvent,
  type ToDeviceFor,
  type ToDeviceRequest,
  type ToDeviceService,
} from './to-device.js';
