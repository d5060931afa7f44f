import { globMatches, globMatchesWords, propertyAt, textMatchesWords } from './match.js';
import { PUSH_RULE_KINDS, type PushAction, type PushCondition, type PushRule, type PushRuleKind, type PushRuleset } from './types.js';

/**
 * Push rule evaluation, pure: the caller loads what the conditions ask about (member count, display
 * name, power levels) and gets back the actions of the first enabled rule that matches. The caller
 * skips events the user sent themselves, which must never notify.
 */

export interface PushContext {
  /** The number of joined members of the room. */
  readonly memberCount: number;
  /** The user's display name in the room; null when they have none. */
  readonly displayName: string | null;
  /** The sender's power level in the room. */
  readonly senderPowerLevel: number;
  /** `content.notifications` of the room's m.room.power_levels; absent keys require 50. */
  readonly notificationPowerLevels?: Readonly<Record<string, unknown>> | undefined;
}

/** The event in client format (type, content, sender, room_id, state_key ...). */
export type PushEvent = Readonly<Record<string, unknown>>;

/** The power level a notification key needs when the power levels do not say. */
const DEFAULT_NOTIFICATION_LEVEL = 50;

/** The actions of the first enabled rule that matches, or null when none does (then nothing notifies). */
export function evaluatePushRules(ruleset: PushRuleset, event: PushEvent, context: PushContext): readonly PushAction[] | null {
  for (const kind of PUSH_RULE_KINDS) {
    for (const rule of ruleset[kind]) {
      if (rule.enabled && ruleMatches(kind, rule, event, context)) return rule.actions;
    }
  }
  return null;
}

/** Whether the actions ask for a notification. */
export function actionsNotify(actions: readonly PushAction[] | null): boolean {
  return actions?.includes('notify') ?? false;
}

/** Whether the actions highlight: a highlight tweak without a value means true, no tweak means false. */
export function actionsHighlight(actions: readonly PushAction[] | null): boolean {
  const tweak = actions?.find((action) => typeof action === 'object' && action.set_tweak === 'highlight');
  if (tweak === undefined || typeof tweak !== 'object') return false;
  return tweak.value === undefined || tweak.value === true;
}

export function ruleMatches(kind: PushRuleKind, rule: PushRule, event: PushEvent, context: PushContext): boolean {
  switch (kind) {
    case 'override':
    case 'underride':
      // A loop, not every(): this runs for each rule, event and member woken.
      for (const condition of rule.conditions ?? []) if (!conditionMatches(condition, event, context)) return false;
      return true;
    case 'content': {
      const body = propertyAt(event, 'content.body');
      return typeof rule.pattern === 'string' && typeof body === 'string' && globMatchesWords(rule.pattern, body);
    }
    case 'room':
      return event.room_id === rule.rule_id;
    case 'sender':
      return event.sender === rule.rule_id;
  }
}

/** One condition; an unknown kind or a malformed condition never matches, as the spec asks. */
export function conditionMatches(condition: PushCondition, event: PushEvent, context: PushContext): boolean {
  switch (condition.kind) {
    case 'event_match': {
      if (typeof condition.key !== 'string' || typeof condition.pattern !== 'string') return false;
      const value = propertyAt(event, condition.key);
      if (typeof value !== 'string') return false;
      return condition.key === 'content.body' ? globMatchesWords(condition.pattern, value) : globMatches(condition.pattern, value);
    }
    case 'event_property_is': {
      if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
      const value = propertyAt(event, condition.key);
      return isScalar(value) && value === condition.value;
    }
    case 'event_property_contains': {
      if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
      const value = propertyAt(event, condition.key);
      return Array.isArray(value) && value.some((item) => isScalar(item) && item === condition.value);
    }
    case 'contains_display_name': {
      const body = propertyAt(event, 'content.body');
      const name = context.displayName;
      return typeof body === 'string' && name !== null && name !== '' && textMatchesWords(name, body);
    }
    case 'room_member_count':
      return typeof condition.is === 'string' && memberCountMatches(condition.is, context.memberCount);
    case 'sender_notification_permission':
      return typeof condition.key === 'string' && context.senderPowerLevel >= notificationLevel(context, condition.key);
    default:
      return false;
  }
}

/** `is`: a decimal integer, optionally after ==, <, >, <= or >= (== when none). */
export function memberCountMatches(is: string, count: number): boolean {
  const parsed = /^(==|<=|>=|<|>)?([0-9]+)$/.exec(is);
  if (parsed === null) return false;
  const wanted = Number(parsed[2]);
  switch (parsed[1]) {
    case '<':
      return count < wanted;
    case '>':
      return count > wanted;
    case '<=':
      return count <= wanted;
    case '>=':
      return count >= wanted;
    default:
      return count === wanted;
  }
}

function notificationLevel(context: PushContext, key: string): number {
  const level = context.notificationPowerLevels?.[key];
  if (typeof level === 'number' && Number.isInteger(level)) return level;
  // Rooms before version 10 may hold power levels as strings.
  if (typeof level === 'string' && /^[+-]?[0-9]+$/.test(level.trim())) return Number.parseInt(level, 10);
  return DEFAULT_NOTIFICATION_LEVEL;
}

/** The values the property conditions compare: strings, safe integers, booleans and null. */
function isScalar(value: unknown): value is string | number | boolean | null {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isSafeInteger(value))
  );
}
