import { MatrixError, type DeviceId } from '../protocol/index.js';
import type { Requester } from './ports.js';

/**
 * The device a request acts for, for requests that act for one (keys, to-device messages, pushers,
 * logging out). Only an application service can ask without a device; it names one with `device_id`.
 */
export function deviceOf(requester: Pick<Requester, 'deviceId'>): DeviceId {
  if (requester.deviceId === null) {
    throw new MatrixError('M_MISSING_PARAM', 'This request acts for a device: an application service names one with the device_id query parameter');
  }
  return requester.deviceId;
}
