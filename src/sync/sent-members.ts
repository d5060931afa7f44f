/**
 * Which member events each device has been sent, so lazy-loading members sends a timeline sender's
 * membership once rather than with every sync (the spec's include_redundant_members: false). Kept in
 * memory per (user, device, room) and bounded, as Synapse does: a restart or an eviction only costs the
 * client a member event it already had.
 */

/** Devices remembered; the least recently syncing is forgotten first. */
export const MAX_DEVICES = 10_000;
/** Member events remembered per device, over all its rooms. */
export const MAX_MEMBERS_PER_DEVICE = 1_000;

/** One device's record, for the rooms of one sync. */
export interface DeviceSentMembers {
  /** Whether this member event is the one the device was last sent for the member. */
  has(roomId: string, memberId: string, eventId: string): boolean;
  remember(roomId: string, memberId: string, eventId: string): void;
}

export class SentMembers {
  /** Insertion order is recency order: a touched entry is deleted and set again. */
  private readonly devices = new Map<string, Map<string, string>>();

  constructor(
    private readonly maxDevices = MAX_DEVICES,
    private readonly maxPerDevice = MAX_MEMBERS_PER_DEVICE,
  ) {}

  /** The device's record; `fresh` (a sync without a since-token: the client starts over) empties it. */
  forDevice(userId: string, deviceId: string, fresh: boolean): DeviceSentMembers {
    const deviceKey = `${userId}\n${deviceId}`;
    const members = (!fresh && this.devices.get(deviceKey)) || new Map<string, string>();
    this.devices.delete(deviceKey);
    this.devices.set(deviceKey, members);
    if (this.devices.size > this.maxDevices) this.devices.delete(this.devices.keys().next().value as string);
    const key = (roomId: string, memberId: string) => `${roomId}\n${memberId}`;
    return {
      has: (roomId, memberId, eventId) => members.get(key(roomId, memberId)) === eventId,
      remember: (roomId, memberId, eventId) => {
        const entry = key(roomId, memberId);
        members.delete(entry);
        members.set(entry, eventId);
        if (members.size > this.maxPerDevice) members.delete(members.keys().next().value as string);
      },
    };
  }
}
