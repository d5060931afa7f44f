/**
 * Auth rule "If type is m.room.power_levels" (rule 10 in v1-5 and v12, 9 in v6-11): the new content must be
 * valid, v12 creators may not be listed, and a sender may only change levels up to their own.
 */
import type { RoomEvent } from '../event.js';
import type { RoomVersionRules } from '../room-versions.js';
import { POWER_LEVEL_FIELDS, parsePowerLevels, powerLevelOf, type PowerLevels } from './power-levels.js';
import { ALLOW, deny } from './result.js';
import type { AuthResult, AuthStateLookup } from './types.js';

const RULE = 'm.room.power_levels';

/**
 * `current` are the room's levels before the event (they give the sender's level, Infinity for a v12
 * creator). Before v10 the spec only demands that `users` be valid; values elsewhere that no one can read
 * as an integer are refused too, as Synapse and ruma do, rather than silently read as defaults.
 */
export function checkPowerLevelsChange(
  event: RoomEvent,
  lookup: AuthStateLookup,
  rules: RoomVersionRules,
  current: PowerLevels,
): AuthResult {
  const { levels: next, problems } = parsePowerLevels(event.content, rules);
  if (problems.length > 0) return deny(`${RULE}: ${problems[0]}`);
  for (const creator of current.creators) {
    if (next.users.has(creator)) return deny(`${RULE}: room creator ${creator} may not be listed in users`);
  }

  const previous = lookup('m.room.power_levels', '');
  if (previous === undefined) return ALLOW;
  // Presence matters ("added, changed or removed"), so compare the two contents, not the defaults.
  const old = parsePowerLevels(previous.content, rules).levels;
  const senderLevel = powerLevelOf(event.sender, current);

  for (const [name, key] of POWER_LEVEL_FIELDS) {
    const before = Object.hasOwn(previous.content, name) ? old[key] : undefined;
    const after = Object.hasOwn(event.content, name) ? next[key] : undefined;
    if (before === after) continue;
    if (before !== undefined && before > senderLevel) return deny(`${RULE}: current ${name} is above the sender's level`);
    if (after !== undefined && after > senderLevel) return deny(`${RULE}: new ${name} is above the sender's level`);
  }

  const maps: ['events' | 'notifications', ReadonlyMap<string, number>, ReadonlyMap<string, number>][] = [
    ['events', old.events, next.events],
  ];
  if (rules.limitNotificationsPowerLevels) maps.push(['notifications', old.notifications, next.notifications]);
  for (const [name, before, after] of maps) {
    for (const key of new Set([...before.keys(), ...after.keys()])) {
      const was = before.get(key);
      const will = after.get(key);
      if (was === will) continue;
      if (was !== undefined && was > senderLevel) return deny(`${RULE}: current ${name}[${key}] is above the sender's level`);
      if (will !== undefined && will > senderLevel) return deny(`${RULE}: new ${name}[${key}] is above the sender's level`);
    }
  }

  for (const user of new Set([...old.users.keys(), ...next.users.keys()])) {
    const was = old.users.get(user);
    const will = next.users.get(user);
    if (was === will) continue;
    if (was !== undefined && user !== event.sender && was >= senderLevel) {
      return deny(`${RULE}: users[${user}] is not below the sender's level and cannot be changed`);
    }
    if (will !== undefined && will > senderLevel) return deny(`${RULE}: new users[${user}] is above the sender's level`);
  }
  return ALLOW;
}
