import { MatrixError } from '../protocol/index.js';
import { defaultPushRules, MASTER_RULE_ID } from './default-rules.js';
import { PUSH_RULE_KINDS, type PushAction, type PushCondition, type PushRule, type PushRuleKind, type PushRuleset } from './types.js';

/**
 * A user's rules, pure: the server defaults (with the user's enabled/actions changes) and the user's own
 * rules, kept apart so the defaults can change with the spec while the user's choices carry over.
 */

export interface UserPushRules {
  /** The user's own rules per kind, most important first. */
  readonly own: PushRuleset;
  /** The server-default rules, with the user's enabled and actions changes applied. */
  readonly defaults: PushRuleset;
}

type MutableRuleset = { [K in PushRuleKind]: PushRule[] };

const emptyRuleset = (): MutableRuleset => ({ override: [], content: [], room: [], sender: [], underride: [] });

/** Historical actions the spec says to strip wherever they are met. */
const HISTORICAL_ACTIONS = new Set(['dont_notify', 'coalesce']);

/**
 * The ruleset clients see: in each kind the user's rules come before the defaults, except that the
 * master rule stays above everything.
 */
export function effectiveRuleset(rules: UserPushRules): PushRuleset {
  const result = emptyRuleset();
  for (const kind of PUSH_RULE_KINDS) {
    const defaults = rules.defaults[kind];
    const master = defaults.filter((rule) => rule.rule_id === MASTER_RULE_ID);
    const rest = defaults.filter((rule) => rule.rule_id !== MASTER_RULE_ID);
    result[kind] = [...master, ...rules.own[kind], ...rest];
  }
  return result;
}

/**
 * Reads the stored m.push_rules content (an effective ruleset, as written earlier) back into the user's
 * rules on top of today's defaults: stored copies of defaults give only their enabled flag and actions,
 * and defaults the server no longer has are dropped. Anything malformed is skipped, never fatal.
 */
export function userPushRules(userId: string, stored: Readonly<Record<string, unknown>> | undefined): UserPushRules {
  const defaults = defaultPushRules(userId);
  const global = stored !== undefined && isRecord(stored.global) ? stored.global : {};
  const own = emptyRuleset();
  const changedDefaults = emptyRuleset();
  for (const kind of PUSH_RULE_KINDS) {
    const list = Array.isArray(global[kind]) ? (global[kind] as unknown[]) : [];
    const storedDefaults = new Map<string, Readonly<Record<string, unknown>>>();
    for (const value of list) {
      if (!isRecord(value) || typeof value.rule_id !== 'string') continue;
      if (value.rule_id.startsWith('.')) {
        storedDefaults.set(value.rule_id, value);
        continue;
      }
      const rule = storedOwnRule(kind, value);
      if (rule !== undefined && !own[kind].some((known) => known.rule_id === rule.rule_id)) own[kind].push(rule);
    }
    changedDefaults[kind] = defaults[kind].map((rule) => {
      const saved = storedDefaults.get(rule.rule_id);
      if (saved === undefined) return rule;
      const actions = readActions(saved.actions);
      return {
        ...rule,
        enabled: typeof saved.enabled === 'boolean' ? saved.enabled : rule.enabled,
        actions: actions ?? rule.actions,
      };
    });
  }
  return { own, defaults: changedDefaults };
}

export function findRule(ruleset: PushRuleset, kind: PushRuleKind, ruleId: string): PushRule | undefined {
  return ruleset[kind].find((rule) => rule.rule_id === ruleId);
}

/** Where PUT places a rule: `before` wins when both are given, as the spec says. */
export interface RulePosition {
  readonly before?: string | undefined;
  readonly after?: string | undefined;
}

/**
 * Adds or replaces one of the user's own rules. A new rule without a position becomes the most important
 * of its kind; a replaced one keeps its place and its enabled flag unless told otherwise.
 */
export function putOwnRule(rules: UserPushRules, kind: PushRuleKind, rule: PushRule, position: RulePosition): UserPushRules {
  const current = rules.own[kind];
  const index = current.findIndex((known) => known.rule_id === rule.rule_id);
  const existing = index === -1 ? undefined : current[index];
  const placed = existing === undefined ? rule : { ...rule, enabled: existing.enabled };
  const others = current.filter((known) => known.rule_id !== rule.rule_id);
  const anchor = position.before ?? position.after;
  let at: number;
  if (anchor !== undefined) {
    if (anchor.startsWith('.')) {
      throw new MatrixError('M_INVALID_PARAM', 'A rule cannot be placed relative to a server-default rule');
    }
    const anchorIndex = others.findIndex((known) => known.rule_id === anchor);
    if (anchorIndex === -1) {
      // The spec's own example of this refusal is a 400 M_UNKNOWN.
      throw new MatrixError('M_UNKNOWN', `before/after rule not found: ${anchor}`);
    }
    at = position.before !== undefined ? anchorIndex : anchorIndex + 1;
  } else {
    at = index === -1 ? 0 : index;
  }
  const next = [...others.slice(0, at), placed, ...others.slice(at)];
  return { ...rules, own: { ...rules.own, [kind]: next } };
}

/**
 * After a room upgrade: each of the user's own rules for the old room gets a copy for the new one, just
 * after it. A rule is for the old room when its id names it (a room rule's id is the room id) and its
 * conditions name no other room; the copy's id and room_id conditions name the new room instead. A copy
 * already there is left as it is.
 */
export function withRoomRulesCopied(rules: UserPushRules, fromRoom: string, toRoom: string): UserPushRules {
  let changed = false;
  const own = emptyRuleset();
  for (const kind of PUSH_RULE_KINDS) {
    const ids = new Set(rules.own[kind].map((rule) => rule.rule_id));
    for (const rule of rules.own[kind]) {
      own[kind].push(rule);
      if (!rule.rule_id.includes(fromRoom)) continue;
      const conditions = rule.conditions ?? [];
      const rooms = conditions.filter((c) => c.kind === 'event_match' && c.key === 'room_id').map((c) => c.pattern);
      if (rooms.some((room) => room !== fromRoom)) continue;
      const ruleId = rule.rule_id.split(fromRoom).join(toRoom);
      if (ids.has(ruleId)) continue;
      ids.add(ruleId);
      changed = true;
      const copy: PushRule = { ...rule, rule_id: ruleId };
      own[kind].push(rule.conditions === undefined ? copy : {
        ...copy,
        conditions: rule.conditions.map((c) => (c.kind === 'event_match' && c.key === 'room_id' ? { ...c, pattern: toRoom } : c)),
      });
    }
  }
  return changed ? { ...rules, own } : rules;
}

/** Deletes one of the user's own rules; server-default rules can only be disabled. */
export function deleteOwnRule(rules: UserPushRules, kind: PushRuleKind, ruleId: string): UserPushRules {
  if (findRule(rules.defaults, kind, ruleId) !== undefined) {
    throw new MatrixError('M_INVALID_PARAM', 'Server-default push rules cannot be deleted; disable the rule instead');
  }
  if (findRule(rules.own, kind, ruleId) === undefined) throw notFound();
  return { ...rules, own: { ...rules.own, [kind]: rules.own[kind].filter((rule) => rule.rule_id !== ruleId) } };
}

/** Sets the enabled flag or the actions of any rule, server-default or the user's own. */
export function changeRule(
  rules: UserPushRules,
  kind: PushRuleKind,
  ruleId: string,
  change: { readonly enabled?: boolean; readonly actions?: readonly PushAction[] },
): UserPushRules {
  for (const part of ['defaults', 'own'] as const) {
    const list = rules[part][kind];
    if (!list.some((rule) => rule.rule_id === ruleId)) continue;
    const next = list.map((rule) => (rule.rule_id === ruleId ? { ...rule, ...change } : rule));
    return { ...rules, [part]: { ...rules[part], [kind]: next } };
  }
  throw notFound();
}

export function notFound(): MatrixError {
  return new MatrixError('M_NOT_FOUND', 'The push rule was not found');
}

/** The body of PUT /pushrules/global/{kind}/{ruleId}, as its contract's schema lets it through. */
export interface RuleRequest {
  readonly actions: readonly unknown[];
  readonly conditions?: readonly PushCondition[];
  readonly pattern?: string;
}

/** Checks a new rule's id and body against its kind and returns the rule to store (enabled, as the spec asks). */
export function ruleFromRequest(kind: PushRuleKind, ruleId: string, body: RuleRequest): PushRule {
  if (ruleId === '') throw new MatrixError('M_INVALID_PARAM', 'The rule id is empty');
  if (ruleId.startsWith('.')) {
    throw new MatrixError('M_INVALID_PARAM', "Rule ids starting with '.' are reserved for server-default rules");
  }
  if (ruleId.includes('/') || ruleId.includes('\\')) {
    throw new MatrixError('M_INVALID_PARAM', 'Rule ids cannot contain slashes or backslashes');
  }
  const actions = validActions(body.actions);
  const base = { rule_id: ruleId, default: false, enabled: true, actions };
  switch (kind) {
    case 'override':
    case 'underride':
      return { ...base, conditions: body.conditions ?? [] };
    case 'content':
      if (typeof body.pattern !== 'string') throw new MatrixError('M_MISSING_PARAM', 'A content rule needs a pattern');
      return { ...base, pattern: body.pattern };
    // The id names the room or the sender; like Synapse, any id is taken (one naming no room matches nothing).
    case 'room':
    case 'sender':
      return base;
  }
}

/**
 * Actions from a client: "notify" or an object naming a tweak to set; the historical dont_notify and
 * coalesce are stripped, as the spec asks.
 */
export function validActions(actions: readonly unknown[]): PushAction[] {
  const result: PushAction[] = [];
  for (const action of actions) {
    if (typeof action === 'string') {
      if (HISTORICAL_ACTIONS.has(action)) continue;
      if (action !== 'notify') throw new MatrixError('M_BAD_JSON', `Unrecognised push rule action '${action}'`);
      result.push(action);
    } else if (isRecord(action) && typeof action.set_tweak === 'string') {
      result.push(action);
    } else {
      throw new MatrixError('M_BAD_JSON', 'Each action must be "notify" or an object with a string set_tweak');
    }
  }
  return result;
}

function storedOwnRule(kind: PushRuleKind, value: Readonly<Record<string, unknown>>): PushRule | undefined {
  const actions = readActions(value.actions);
  if (actions === undefined || typeof value.rule_id !== 'string') return undefined;
  const base = { rule_id: value.rule_id, default: false, enabled: value.enabled !== false, actions };
  if (kind === 'override' || kind === 'underride') {
    const conditions = Array.isArray(value.conditions) ? value.conditions.filter(isCondition) : [];
    return { ...base, conditions };
  }
  if (kind === 'content') return typeof value.pattern === 'string' ? { ...base, pattern: value.pattern } : undefined;
  return base;
}

function readActions(value: unknown): PushAction[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter(
    (action): action is PushAction =>
      (typeof action === 'string' && !HISTORICAL_ACTIONS.has(action)) || isRecord(action),
  );
}

function isCondition(value: unknown): value is PushCondition {
  return isRecord(value) && typeof value.kind === 'string';
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
