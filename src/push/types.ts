/**
 * Push rules as the spec's wire JSON gives them (client-server API, "Push Rules"): snake_case field names,
 * because rulesets go to clients in GET /pushrules/ and in the m.push_rules account data as they are.
 */

/** The kinds of rule, in the order an event is checked against them. */
export const PUSH_RULE_KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;
export type PushRuleKind = (typeof PUSH_RULE_KINDS)[number];

/** `"notify"`, or a parameterised action such as `{ "set_tweak": "sound", "value": "default" }`. */
export type PushAction = string | Readonly<Record<string, unknown>>;

/** A condition of an override or underride rule; the other fields depend on `kind`. */
export interface PushCondition {
  readonly kind: string;
  readonly [field: string]: unknown;
}

export interface PushRule {
  readonly rule_id: string;
  /** true for the server-default rules (their ids start with a dot). */
  readonly default: boolean;
  readonly enabled: boolean;
  readonly actions: readonly PushAction[];
  /** override and underride rules only. */
  readonly conditions?: readonly PushCondition[];
  /** content rules only: the glob matched against content.body at word boundaries. */
  readonly pattern?: string;
}

/** The `global` ruleset: each kind's rules, most important first. */
export type PushRuleset = { readonly [K in PushRuleKind]: readonly PushRule[] };

/** The account data type that carries the user's effective ruleset to clients through /sync. */
export const PUSH_RULES_TYPE = 'm.push_rules';

export function isPushRuleKind(value: string): value is PushRuleKind {
  return (PUSH_RULE_KINDS as readonly string[]).includes(value);
}
