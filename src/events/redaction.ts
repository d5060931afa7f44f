/**
 * The redaction algorithm (rooms/fragments/v1, v6, v9 and v11-redactions.md): what is left of an event once
 * it is redacted. Signatures and reference hashes (hence event ids) are computed over this form, so it has
 * to match other servers byte for byte.
 */
import { isPlainObject } from '../crypto/index.js';
import type { PduJson } from './pdu.js';
import type { RoomVersionRules } from './room-versions.js';

const KEPT_TOP_LEVEL = new Set([
  'event_id',
  'type',
  'room_id',
  'sender',
  'state_key',
  'content',
  'hashes',
  'signatures',
  'depth',
  'prev_events',
  'auth_events',
  'origin_server_ts',
]);

/** Kept up to room version 10 only. */
const KEPT_TOP_LEVEL_BEFORE_V11 = new Set(['origin', 'membership', 'prev_state']);

type Content = Record<string, unknown>;

function pick(content: Content, keys: readonly string[]): Content {
  const kept: Content = {};
  for (const key of keys) if (Object.hasOwn(content, key)) kept[key] = content[key];
  return kept;
}

function redactMember(content: Content, rules: RoomVersionRules): Content {
  const kept = pick(
    content,
    rules.keepsJoinAuthorisedViaUsersServer ? ['membership', 'join_authorised_via_users_server'] : ['membership'],
  );
  if (rules.keepsSignedThirdPartyInvite && Object.hasOwn(content, 'third_party_invite')) {
    const invite = content.third_party_invite;
    // Only an object is kept, reduced to its `signed` (an empty object if it has none), as Synapse and ruma
    // do: the spec's "allows the `signed` key of the `third_party_invite` key" leaves that case open.
    if (isPlainObject(invite)) kept.third_party_invite = pick(invite, ['signed']);
  }
  return kept;
}

function redactContent(type: unknown, content: Content, rules: RoomVersionRules): Content {
  switch (type) {
    case 'm.room.member':
      return redactMember(content, rules);
    case 'm.room.create':
      return rules.keepsCreateContentWholly ? { ...content } : pick(content, ['creator']);
    case 'm.room.join_rules':
      return pick(content, rules.keepsAllowInJoinRules ? ['join_rule', 'allow'] : ['join_rule']);
    case 'm.room.power_levels':
      return pick(content, rules.keepsPowerLevelsInvite ? POWER_LEVELS_KEYS_V11 : POWER_LEVELS_KEYS);
    case 'm.room.history_visibility':
      return pick(content, ['history_visibility']);
    case 'm.room.aliases':
      return rules.keepsAliasesContent ? pick(content, ['aliases']) : {};
    case 'm.room.redaction':
      return rules.keepsRedactsInContent ? pick(content, ['redacts']) : {};
    default:
      return {};
  }
}

const POWER_LEVELS_KEYS = [
  'ban',
  'events',
  'events_default',
  'kick',
  'redact',
  'state_default',
  'users',
  'users_default',
];
const POWER_LEVELS_KEYS_V11 = [...POWER_LEVELS_KEYS, 'invite'];

/**
 * Returns the redacted form of a PDU under the given room version's rules: a new object with only the
 * protected top-level keys and the protected content keys of its event type. `unsigned` is dropped (a
 * client-facing copy may later carry `unsigned.redacted_because`; that is the caller's business). `content`
 * is always present in the result, `{}` if the event had none. Nested kept values are shared with the
 * input, not copied: treat both as immutable.
 */
export function redactEvent(event: PduJson, rules: RoomVersionRules): PduJson {
  const redacted: Record<string, unknown> = {};
  const keepLegacy = rules.keepsOriginMembershipAndPrevState;
  for (const key of Object.keys(event)) {
    if (KEPT_TOP_LEVEL.has(key) || (keepLegacy && KEPT_TOP_LEVEL_BEFORE_V11.has(key))) {
      redacted[key] = event[key];
    }
  }
  const content = event.content;
  redacted.content = isPlainObject(content) ? redactContent(event.type, content, rules) : {};
  return redacted;
}
