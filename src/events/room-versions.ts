/**
 * The rules of each room version as data. Each version is the previous one plus what its page in the spec
 * (content/rooms/vN.md) changes; code branches on these flags, never on the version string. New flags
 * (auth rules, state resolution details) are added here with their value for v1 and the version that
 * changes them.
 */

/** How event ids are made: by the sending server (v1-2), or from the reference hash (v3 base64, v4+ URL-safe). */
export type EventIdFormat = 'server-generated' | 'hash' | 'url-safe-hash';

/** How room ids are made: by the creating server, or (v12) from the create event's reference hash. */
export type RoomIdFormat = 'server-generated' | 'create-event-hash';

/** v1; v2 from room version 2; v2.1 is v2 as amended by room version 12. */
export type StateResolutionAlgorithm = 'v1' | 'v2' | 'v2.1';

export type RoomVersionDisposition = 'stable' | 'unstable';

export interface RoomVersionRules {
  readonly id: string;
  readonly disposition: RoomVersionDisposition;
  readonly stable: boolean;

  readonly eventIdFormat: EventIdFormat;
  readonly roomIdFormat: RoomIdFormat;
  readonly stateResolution: StateResolutionAlgorithm;
  /** v5+: a signing key only verifies events whose origin_server_ts is before its valid_until_ts. */
  readonly enforcesKeyValidityPeriod: boolean;
  /** v6+: events that break the canonical JSON rules (floats, out-of-range integers) are rejected. */
  readonly strictCanonicalJson: boolean;

  // Redaction: which keys survive (rooms/fragments/v*-redactions.md).
  /** v1-10 keep the top-level `origin`, `membership` and `prev_state`; v11 drops them. */
  readonly keepsOriginMembershipAndPrevState: boolean;
  /** v1-5 keep `aliases` in m.room.aliases content. */
  readonly keepsAliasesContent: boolean;
  /** v8+ keep `allow` in m.room.join_rules content. */
  readonly keepsAllowInJoinRules: boolean;
  /** v9+ keep `join_authorised_via_users_server` in m.room.member content. */
  readonly keepsJoinAuthorisedViaUsersServer: boolean;
  /** v11+ keep all of m.room.create content (before: only `creator`). */
  readonly keepsCreateContentWholly: boolean;
  /** v11+ keep `invite` in m.room.power_levels content. */
  readonly keepsPowerLevelsInvite: boolean;
  /** v11+ keep `redacts` in m.room.redaction content. */
  readonly keepsRedactsInContent: boolean;
  /** v11+ keep `third_party_invite.signed` in m.room.member content. */
  readonly keepsSignedThirdPartyInvite: boolean;

  // Authorization rules (rooms/fragments/v1-auth-rules.md, v3-auth-rules.md, v8-auth-rules.md, vN.md).
  /** v1-2: auth rule 11 checks m.room.redaction (redact level or same domain); v3+ check on serving instead. */
  readonly redactionsCheckedByAuth: boolean;
  /** v1-5: m.room.aliases has its own rule (sender's domain must be the state_key), before membership. */
  readonly aliasesSpecialCase: boolean;
  /** v1-9: integer-valued m.room.power_levels fields may be strings ("50", " +050 "); v10+ integers only. */
  readonly integerPowerLevels: boolean;
  /** v6+: changes to power_levels `notifications` are checked like `events`. */
  readonly limitNotificationsPowerLevels: boolean;
  /** v7+: the `knock` join rule and membership. */
  readonly knocking: boolean;
  /** v8+: the `restricted` join rule with join_authorised_via_users_server. */
  readonly restrictedJoins: boolean;
  /** v10+: the `knock_restricted` join rule. */
  readonly knockRestrictedJoins: boolean;
  /** v11+: the room creator is the create event's sender; before, `content.creator` (required). */
  readonly creatorIsSender: boolean;
  /**
   * v12+: the creators (create sender and content.additional_creators) have infinite power and may not
   * appear in power_levels `users`; the create event is not listed in auth_events.
   */
  readonly privilegedCreators: boolean;
}

function rules(r: RoomVersionRules): RoomVersionRules {
  return Object.freeze(r);
}

const v1 = rules({
  id: '1',
  disposition: 'stable',
  stable: true,
  eventIdFormat: 'server-generated',
  roomIdFormat: 'server-generated',
  stateResolution: 'v1',
  enforcesKeyValidityPeriod: false,
  strictCanonicalJson: false,
  keepsOriginMembershipAndPrevState: true,
  keepsAliasesContent: true,
  keepsAllowInJoinRules: false,
  keepsJoinAuthorisedViaUsersServer: false,
  keepsCreateContentWholly: false,
  keepsPowerLevelsInvite: false,
  keepsRedactsInContent: false,
  keepsSignedThirdPartyInvite: false,
  redactionsCheckedByAuth: true,
  aliasesSpecialCase: true,
  integerPowerLevels: false,
  limitNotificationsPowerLevels: false,
  knocking: false,
  restrictedJoins: false,
  knockRestrictedJoins: false,
  creatorIsSender: false,
  privilegedCreators: false,
});
const v2 = rules({ ...v1, id: '2', stateResolution: 'v2' });
const v3 = rules({ ...v2, id: '3', eventIdFormat: 'hash', redactionsCheckedByAuth: false });
const v4 = rules({ ...v3, id: '4', eventIdFormat: 'url-safe-hash' });
const v5 = rules({ ...v4, id: '5', enforcesKeyValidityPeriod: true });
const v6 = rules({
  ...v5,
  id: '6',
  strictCanonicalJson: true,
  keepsAliasesContent: false,
  aliasesSpecialCase: false,
  limitNotificationsPowerLevels: true,
});
const v7 = rules({ ...v6, id: '7', knocking: true });
const v8 = rules({ ...v7, id: '8', keepsAllowInJoinRules: true, restrictedJoins: true });
const v9 = rules({ ...v8, id: '9', keepsJoinAuthorisedViaUsersServer: true });
const v10 = rules({ ...v9, id: '10', integerPowerLevels: true, knockRestrictedJoins: true });
const v11 = rules({
  ...v10,
  id: '11',
  keepsOriginMembershipAndPrevState: false,
  keepsCreateContentWholly: true,
  keepsPowerLevelsInvite: true,
  keepsRedactsInContent: true,
  keepsSignedThirdPartyInvite: true,
  creatorIsSender: true,
});
const v12 = rules({
  ...v11,
  id: '12',
  roomIdFormat: 'create-event-hash',
  stateResolution: 'v2.1',
  privilegedCreators: true,
});

/** Every room version Hearth knows, by id. */
export const ROOM_VERSIONS: ReadonlyMap<string, RoomVersionRules> = new Map(
  [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12].map((r) => [r.id, r] as const),
);

/** The version new rooms get: the spec (v1.19, rooms/_index.md) says servers SHOULD use 12. */
export const DEFAULT_ROOM_VERSION = '12';

export function getRoomVersion(id: string): RoomVersionRules | undefined {
  return ROOM_VERSIONS.get(id);
}
