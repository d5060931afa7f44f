/**
 * Power levels as the auth rules read them (client-server-api m.room.power_levels, rooms/fragments
 * v1-stringy-power-levels.md and v1-floaty-power-levels.md, rooms/v10.md, rooms/v12.md): the parsed content
 * of the room's m.room.power_levels event with the spec's defaults, the room creators, and the level of a
 * user or an event type.
 */
import { isPlainObject } from '../../crypto/index.js';
import { isUserId } from '../../protocol/index.js';
import type { RoomVersionRules } from '../room-versions.js';
import type { AuthStateLookup } from './types.js';

export interface PowerLevels {
  readonly ban: number;
  readonly kick: number;
  readonly redact: number;
  readonly invite: number;
  readonly eventsDefault: number;
  readonly stateDefault: number;
  readonly usersDefault: number;
  readonly events: ReadonlyMap<string, number>;
  readonly notifications: ReadonlyMap<string, number>;
  readonly users: ReadonlyMap<string, number>;
  /**
   * v12+: the room creators (create event sender and content.additional_creators), whose power is
   * infinite whatever `users` says. Empty before v12, where the creator is an ordinary user with 100 by
   * default.
   */
  readonly creators: ReadonlySet<string>;
  /** False when the room has no m.room.power_levels event and every value is the spec's default. */
  readonly fromEvent: boolean;
}

/** The top-level integer fields, with their content names and their defaults when the event omits them. */
export const POWER_LEVEL_FIELDS = Object.freeze([
  ['users_default', 'usersDefault', 0],
  ['events_default', 'eventsDefault', 0],
  ['state_default', 'stateDefault', 50],
  ['ban', 'ban', 50],
  ['redact', 'redact', 50],
  ['kick', 'kick', 50],
  ['invite', 'invite', 0],
] as const);

export type PowerLevelField = (typeof POWER_LEVEL_FIELDS)[number][1];

/** Default level for `notifications.room` (the @room mention), the one key the spec defines. */
const DEFAULT_NOTIFICATION_LEVEL = 50;
/** In a room without a power levels event, the creator (v1-11) has 100. */
const DEFAULT_CREATOR_LEVEL = 100;

/** "+0100", " -5 ": the string form v1-9 accept (v1-stringy-power-levels.md). */
const STRING_INTEGER = /^\s*[+-]?[0-9]+\s*$/;

/**
 * One power level value under the room version's rules, or undefined when it is not a valid level:
 * integers always; integer strings before v10; floats (truncated) only where canonical JSON is not
 * enforced (v1-5), and never outside the range of a double.
 */
export function parsePowerLevelValue(value: unknown, rules: RoomVersionRules): number | undefined {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value;
    if (rules.strictCanonicalJson || !Number.isFinite(value)) return undefined;
    return Math.trunc(value);
  }
  if (typeof value === 'string' && !rules.integerPowerLevels && STRING_INTEGER.test(value)) {
    return Number.parseInt(value.trim(), 10);
  }
  return undefined;
}

/**
 * Power levels content parsed under the version's rules. `problems` lists what is not valid (each names
 * the property); invalid values are replaced by their defaults in `levels`. The auth rules reject a new
 * m.room.power_levels event with problems; readers of the current state use `levels` as it is.
 */
export function parsePowerLevels(
  content: Readonly<Record<string, unknown>>,
  rules: RoomVersionRules,
  creators: ReadonlySet<string> = new Set(),
): { readonly levels: PowerLevels; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const fields: Record<PowerLevelField, number> = {
    usersDefault: 0,
    eventsDefault: 0,
    stateDefault: 50,
    ban: 50,
    redact: 50,
    kick: 50,
    invite: 0,
  };
  for (const [name, key, fallback] of POWER_LEVEL_FIELDS) {
    if (!Object.hasOwn(content, name)) continue;
    const parsed = parsePowerLevelValue(content[name], rules);
    if (parsed === undefined) problems.push(`${name} is not an integer`);
    fields[key] = parsed ?? fallback;
  }
  const map = (name: string, keyProblem?: (key: string) => string | undefined): Map<string, number> => {
    const result = new Map<string, number>();
    if (!Object.hasOwn(content, name)) return result;
    const value = content[name];
    if (!isPlainObject(value)) {
      problems.push(`${name} is not an object`);
      return result;
    }
    for (const [key, raw] of Object.entries(value)) {
      const problem = keyProblem?.(key);
      if (problem !== undefined) {
        problems.push(problem);
        continue;
      }
      const parsed = parsePowerLevelValue(raw, rules);
      if (parsed === undefined) problems.push(`${name}[${JSON.stringify(key)}] is not an integer`);
      else result.set(key, parsed);
    }
    return result;
  };
  const events = map('events');
  const notifications = map('notifications');
  const users = map('users', (key) => (isUserId(key) ? undefined : `users has ${JSON.stringify(key)}, not a user ID`));
  const levels: PowerLevels = {
    ...fields,
    events,
    notifications,
    users,
    creators,
    fromEvent: true,
  };
  return { levels, problems };
}

/**
 * The room creators as the version defines them: `content.creator` of the create event (v1-10), its
 * sender (v11), its sender and the user ids in `content.additional_creators` (v12). Empty without a create
 * event.
 */
export function roomCreators(lookup: AuthStateLookup, rules: RoomVersionRules): ReadonlySet<string> {
  const create = lookup('m.room.create', '');
  const creators = new Set<string>();
  if (create === undefined) return creators;
  if (!rules.creatorIsSender) {
    const creator = create.content.creator;
    if (typeof creator === 'string') creators.add(creator);
    return creators;
  }
  creators.add(create.sender);
  const additional = create.content.additional_creators;
  if (rules.privilegedCreators && Array.isArray(additional)) {
    for (const user of additional) if (typeof user === 'string') creators.add(user);
  }
  return creators;
}

/**
 * The room's power levels: the m.room.power_levels event's content, or, without one, the spec's defaults
 * (the creator 100 up to v11, everyone else 0, state_default 50, ban/kick/redact 50, invite 0). So in a
 * room without one only the creator sends state events, the first power levels event among them (the
 * m.room.power_levels schema; Synapse's rule too).
 */
export function powerLevelsContent(lookup: AuthStateLookup, rules: RoomVersionRules): PowerLevels {
  const creators = roomCreators(lookup, rules);
  const privileged = rules.privilegedCreators ? creators : new Set<string>();
  const event = lookup('m.room.power_levels', '');
  if (event !== undefined) return parsePowerLevels(event.content, rules, privileged).levels;
  const users = new Map<string, number>();
  if (!rules.privilegedCreators) for (const creator of creators) users.set(creator, DEFAULT_CREATOR_LEVEL);
  return {
    usersDefault: 0,
    eventsDefault: 0,
    stateDefault: 50,
    ban: 50,
    redact: 50,
    kick: 50,
    invite: 0,
    events: new Map(),
    notifications: new Map(),
    users,
    creators: privileged,
    fromEvent: false,
  };
}

/** A user's level in parsed power levels: Infinity for a v12 creator, else `users` or `users_default`. */
export function powerLevelOf(userId: string, levels: PowerLevels): number {
  if (levels.creators.has(userId)) return Infinity;
  return levels.users.get(userId) ?? levels.usersDefault;
}

/** A user's power level in the room the lookup describes (v12 creators: Infinity). */
export function userPowerLevel(userId: string, lookup: AuthStateLookup, rules: RoomVersionRules): number {
  return powerLevelOf(userId, powerLevelsContent(lookup, rules));
}

/** The level needed to send an event of this type: `events[type]`, else state_default or events_default. */
export function eventPowerLevel(type: string, isState: boolean, powerLevels: PowerLevels): number {
  return powerLevels.events.get(type) ?? (isState ? powerLevels.stateDefault : powerLevels.eventsDefault);
}

/** The level needed for a notification key (`room` for @room mentions), 50 when not set (as Synapse reads it). */
export function notificationPowerLevel(key: string, powerLevels: PowerLevels): number {
  return powerLevels.notifications.get(key) ?? DEFAULT_NOTIFICATION_LEVEL;
}
