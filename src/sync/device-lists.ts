import type { SyncReads } from './ports.js';

/**
 * device_lists for /sync and /keys/changes (spec: "Tracking the device list for a user"): whose device
 * list a client should fetch again (`changed`), and whom it may stop tracking (`left`).
 *
 * changed: users sharing a room with the user whose devices or cross-signing keys changed between the two
 * positions (the user included: their other devices track them too), and users the user newly shares a
 * room with or who are newly invited to one of the user's rooms (they may have changed devices while no
 * room was shared), including the members of a room the user left and joined again within the range. left: users who shared a room
 * before and share none now. Any room counts, encrypted or not, as in Synapse: a client tracking more
 * users than it needs asks /keys/query a little more often, one tracking too few cannot decrypt.
 */

export interface DeviceListRange {
  readonly events: number;
  readonly deviceLists: number;
}

/** The user's rooms as the caller worked them out for the range. */
export interface MembershipMoves {
  /** Joined now. */
  readonly joined: readonly string[];
  /** Joined now, not joined at the range's start. */
  readonly newlyJoined: readonly string[];
  /** Joined at the range's start, not now. */
  readonly left: readonly string[];
}

export interface DeviceLists {
  changed: string[];
  left: string[];
}

type Reads = Pick<SyncReads, 'deviceListChanges' | 'sharingRoomWith' | 'memberChangesIn' | 'joinedMembers'>;

export async function deviceListDelta(reads: Reads, userId: string, from: DeviceListRange, to: DeviceListRange, rooms: MembershipMoves): Promise<DeviceLists> {
  const changed = new Set<string>();
  const candidatesLeft = new Set<string>();

  const updates = await reads.deviceListChanges(userId, from.deviceLists, to.deviceLists);
  const sharing = await reads.sharingRoomWith(userId, updates.filter((row) => !row.onlyForViewer && row.userId !== userId).map((row) => row.userId));
  for (const row of updates) if (row.onlyForViewer || row.userId === userId || sharing.has(row.userId)) changed.add(row.userId);

  if (to.events > from.events) {
    for (const roomId of rooms.newlyJoined) for (const member of await reads.joinedMembers(roomId, to.events)) changed.add(member);
    const newly = new Set(rooms.newlyJoined);
    const steady = rooms.joined.filter((roomId) => !newly.has(roomId));
    // Rooms the user left and joined again within the range: everyone there is newly met.
    const away = new Set<string>();
    const rejoined = new Set<string>();
    for (const { roomId, userId: member, membership } of await reads.memberChangesIn(steady, from.events, to.events)) {
      if (member === userId) {
        if (membership !== 'join') away.add(roomId);
        else if (away.has(roomId)) rejoined.add(roomId);
      }
      // An invited user counts as newly met too: clients encrypt for invited members (Synapse does the same).
      if (membership === 'join' || membership === 'invite') changed.add(member);
      else if (membership === 'leave' || membership === 'ban') candidatesLeft.add(member);
    }
    for (const roomId of rejoined) for (const member of await reads.joinedMembers(roomId, to.events)) changed.add(member);
    // Members of a room the user left are the ones they no longer see there.
    for (const roomId of rooms.left) for (const member of await reads.joinedMembers(roomId, to.events)) candidatesLeft.add(member);
  }
  candidatesLeft.delete(userId);
  const stillShared = await reads.sharingRoomWith(userId, [...candidatesLeft]);
  const left = [...candidatesLeft].filter((member) => !stillShared.has(member));
  for (const member of left) changed.delete(member);
  // The user's own joins are no news to them; their own device changes are (their other devices track them).
  if (!updates.some((row) => row.userId === userId)) changed.delete(userId);
  return { changed: [...changed].sort(), left: left.sort() };
}
