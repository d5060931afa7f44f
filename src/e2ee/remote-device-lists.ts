import { isPlainObject } from '../crypto/index.js';
import type { KeyJson } from './key-json.js';

/**
 * Remote users' device lists (server-server API, "Device Management"), as pure functions: reading a
 * server's GET /user/devices answer, and applying its m.device_list_update EDUs on top of a kept copy.
 *
 * Each update names the stream_id it moves the list to and the prev_id it followed. An update whose
 * prev_id are all stream ids the copy has seen applies on top; any other means an update was missed, and
 * the whole list is fetched again (a resync). An update older than the copy is already in it.
 */

/** How many recent stream ids a copy remembers, for updates that follow one another out of order. */
export const KNOWN_STREAM_IDS_KEPT = 10;

export interface RemoteDevice {
  /** The device's signed keys as its server gave them (`{}` when it has none). */
  readonly keys: KeyJson;
  readonly displayName?: string;
}

export interface RemoteDeviceList {
  readonly streamId: number;
  /** Stream ids this copy has seen, the most recent KNOWN_STREAM_IDS_KEPT. */
  readonly knownIds: readonly number[];
  readonly devices: Readonly<Record<string, RemoteDevice>>;
  readonly master?: KeyJson;
  readonly selfSigning?: KeyJson;
}

export type DeviceListUpdateOutcome =
  | { readonly kind: 'apply'; readonly list: RemoteDeviceList }
  | { readonly kind: 'resync' }
  | { readonly kind: 'ignore'; readonly reason: 'malformed' | 'already seen' };

const isStreamId = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * A device's keys as its user's server gives them: an object that, where it names a user or device,
 * names this one. Anything else is not the device's (undefined).
 */
function deviceKeys(value: unknown, userId: string, deviceId: string): KeyJson | undefined {
  if (!isPlainObject(value)) return undefined;
  if (value.user_id !== undefined && value.user_id !== userId) return undefined;
  if (value.device_id !== undefined && value.device_id !== deviceId) return undefined;
  return value;
}

/** A cross-signing key the server vouches for as the user's (its user_id names them). */
export function crossSigningKeyOf(value: unknown, userId: string): KeyJson | undefined {
  return isPlainObject(value) && value.user_id === userId ? value : undefined;
}

const displayNameOf = (value: unknown) => (typeof value === 'string' ? { displayName: value } : {});

/** The answer to GET /_matrix/federation/v1/user/devices/{userId}, checked; undefined when it is not one. */
export function parseUserDevices(userId: string, body: unknown): RemoteDeviceList | undefined {
  if (!isPlainObject(body) || body.user_id !== userId || !isStreamId(body.stream_id) || !Array.isArray(body.devices)) return undefined;
  const devices: Record<string, RemoteDevice> = {};
  for (const device of body.devices as unknown[]) {
    if (!isPlainObject(device) || typeof device.device_id !== 'string' || device.device_id === '') continue;
    const keys = device.keys === undefined ? {} : deviceKeys(device.keys, userId, device.device_id);
    if (keys === undefined) continue;
    devices[device.device_id] = { keys, ...displayNameOf(device.device_display_name) };
  }
  const master = crossSigningKeyOf(body.master_key, userId);
  const selfSigning = crossSigningKeyOf(body.self_signing_key, userId);
  return {
    streamId: body.stream_id,
    knownIds: [body.stream_id],
    devices,
    ...(master ? { master } : {}),
    ...(selfSigning ? { selfSigning } : {}),
  };
}

/**
 * What an m.device_list_update (already checked to come from the user's own server) does to the kept
 * copy: applies on top, calls for a resync (no copy, or an update in between was missed), or nothing.
 */
export function applyDeviceListUpdate(list: RemoteDeviceList | undefined, content: Readonly<Record<string, unknown>>): DeviceListUpdateOutcome {
  const { user_id: userId, device_id: deviceId, stream_id: streamId, prev_id: prevIds = [] } = content;
  if (typeof userId !== 'string' || typeof deviceId !== 'string' || deviceId === '' || !isStreamId(streamId)) return { kind: 'ignore', reason: 'malformed' };
  if (!Array.isArray(prevIds) || !prevIds.every(isStreamId)) return { kind: 'ignore', reason: 'malformed' };
  if (list === undefined) return { kind: 'resync' };
  if (streamId < list.streamId) return { kind: 'ignore', reason: 'already seen' };
  if (!prevIds.every((id) => list.knownIds.includes(id))) return { kind: 'resync' };

  const devices = { ...list.devices };
  if (content.deleted === true) {
    delete devices[deviceId];
  } else {
    const keys = content.keys === undefined ? {} : deviceKeys(content.keys, userId, deviceId);
    if (keys === undefined) return { kind: 'ignore', reason: 'malformed' };
    devices[deviceId] = { keys, ...displayNameOf(content.device_display_name) };
  }
  const knownIds = [...new Set([...list.knownIds, streamId])].sort((a, b) => a - b).slice(-KNOWN_STREAM_IDS_KEPT);
  return { kind: 'apply', list: { ...list, streamId, knownIds, devices } };
}

/** An m.signing_key_update on top of the kept copy: the cross-signing keys it names replace the kept ones. */
export function applySigningKeyUpdate(list: RemoteDeviceList, userId: string, content: Readonly<Record<string, unknown>>): RemoteDeviceList {
  const master = crossSigningKeyOf(content.master_key, userId);
  const selfSigning = crossSigningKeyOf(content.self_signing_key, userId);
  return { ...list, ...(master ? { master } : {}), ...(selfSigning ? { selfSigning } : {}) };
}

/** The list's devices as /keys/query gives them (display names under `unsigned`), all or those asked for. */
export function queriedDeviceKeys(list: RemoteDeviceList, deviceIds: readonly string[]): Record<string, KeyJson> {
  const answer: Record<string, KeyJson> = {};
  for (const [deviceId, device] of Object.entries(list.devices)) {
    if (deviceIds.length > 0 && !deviceIds.includes(deviceId)) continue;
    const unsigned = isPlainObject(device.keys.unsigned) ? device.keys.unsigned : {};
    answer[deviceId] = device.displayName === undefined ? device.keys : { ...device.keys, unsigned: { ...unsigned, device_display_name: device.displayName } };
  }
  return answer;
}
