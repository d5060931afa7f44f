import { pushJudge } from './judge.js';
import type { UserId } from '../protocol/index.js';
import type { PushRuleStore } from './ports.js';
import {
  changeRule,
  deleteOwnRule,
  effectiveRuleset,
  findRule,
  notFound,
  putOwnRule,
  withRoomRulesCopied,
  ruleFromRequest,
  userPushRules,
  validActions,
  type RulePosition,
  type RuleRequest,
  type UserPushRules,
} from './ruleset.js';
import { PUSH_RULES_TYPE, type PushAction, type PushRule, type PushRuleKind, type PushRuleset } from './types.js';

/**
 * Push rules of local users: the server defaults plus each user's own rules and changes, kept as the
 * user's m.push_rules account data (the whole effective ruleset, so /sync delivers it as it is).
 */

export interface PushRulesDeps {
  readonly store: PushRuleStore;
}

/** The m.push_rules account data event /sync sends. */
export interface PushRulesAccountData {
  readonly type: typeof PUSH_RULES_TYPE;
  readonly content: { readonly global: PushRuleset };
}

export function createPushRulesService(deps: PushRulesDeps) {
  const { store } = deps;
  // One read-modify-write per user at a time in this process, so two quick changes cannot lose one.
  const writes = new Map<UserId, Promise<unknown>>();

  async function load(userId: UserId): Promise<UserPushRules> {
    return userPushRules(userId, await store.accountData(userId, null, PUSH_RULES_TYPE));
  }

  function update(userId: UserId, change: (rules: UserPushRules) => UserPushRules): Promise<void> {
    const previous = writes.get(userId) ?? Promise.resolve();
    const next = previous.then(
      async () => {
        const loaded = await load(userId);
        const rules = change(loaded);
        // Nothing changed (a copy already made): no new m.push_rules for the user's clients.
        if (rules === loaded) return;
        await store.putAccountData(userId, null, PUSH_RULES_TYPE, { global: effectiveRuleset(rules) });
      },
    );
    const settled = next.catch(() => undefined);
    writes.set(userId, settled);
    void settled.then(() => {
      if (writes.get(userId) === settled) writes.delete(userId);
    });
    return next;
  }

  async function ruleset(userId: UserId): Promise<PushRuleset> {
    return effectiveRuleset(await load(userId));
  }

  async function rule(userId: UserId, kind: PushRuleKind, ruleId: string): Promise<PushRule> {
    const found = findRule(await ruleset(userId), kind, ruleId);
    if (found === undefined) throw notFound();
    return found;
  }

  return {
    /** The effective ruleset: GET /pushrules/global/. */
    ruleset,

    /** One rule, or M_NOT_FOUND. */
    rule,

    /** PUT /pushrules/global/{kind}/{ruleId}: adds or replaces one of the user's own rules. */
    putRule(userId: UserId, kind: PushRuleKind, ruleId: string, body: RuleRequest, position: RulePosition): Promise<void> {
      const newRule = ruleFromRequest(kind, ruleId, body);
      return update(userId, (rules) => putOwnRule(rules, kind, newRule, position));
    },

    /** After a room upgrade: the user's rules for the old room get copies for the new one (ruleset.ts). */
    copyRoomRules(userId: UserId, fromRoom: string, toRoom: string): Promise<void> {
      return update(userId, (rules) => withRoomRulesCopied(rules, fromRoom, toRoom));
    },

    deleteRule(userId: UserId, kind: PushRuleKind, ruleId: string): Promise<void> {
      return update(userId, (rules) => deleteOwnRule(rules, kind, ruleId));
    },

    setEnabled(userId: UserId, kind: PushRuleKind, ruleId: string, enabled: boolean): Promise<void> {
      return update(userId, (rules) => changeRule(rules, kind, ruleId, { enabled }));
    },

    setActions(userId: UserId, kind: PushRuleKind, ruleId: string, actions: readonly unknown[]): Promise<void> {
      const valid: PushAction[] = validActions(actions);
      return update(userId, (rules) => changeRule(rules, kind, ruleId, { actions: valid }));
    },

    /**
     * The m.push_rules account data event for /sync: the effective ruleset, the defaults when the user
     * never changed anything (an initial sync must always carry it).
     */
    async pushRulesAccountData(userId: UserId): Promise<PushRulesAccountData> {
      return { type: PUSH_RULES_TYPE, content: { global: await ruleset(userId) } };
    },

    /**
     * The user's rules bound into a judge of events (sync's unread_notifications), from the m.push_rules
     * content the caller read: sync reads it in its snapshot.
     */
    judgeFrom(userId: UserId, content: Readonly<Record<string, unknown>> | undefined) {
      return pushJudge(effectiveRuleset(userPushRules(userId, content)));
    },
  };
}

export type PushRulesService = ReturnType<typeof createPushRulesService>;
