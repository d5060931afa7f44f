/**
 * The state a user is shown of a room before joining it (an invite's invite_room_state, a knock's
 * knock_room_state): the spec's recommended set ("Stripped state"), each with the empty state key.
 */
export const STRIPPED_STATE_TYPES: readonly string[] = [
  'm.room.create',
  'm.room.name',
  'm.room.avatar',
  'm.room.topic',
  'm.room.join_rules',
  'm.room.canonical_alias',
  'm.room.encryption',
];
