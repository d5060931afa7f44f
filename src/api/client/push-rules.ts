import type { FastifyInstance } from 'fastify';
import {
  deletePushRule,
  getPushRule,
  getPushRuleActions,
  getPushRules,
  getPushRulesGlobal,
  isPushRuleEnabled,
  setPushRule,
  setPushRuleActions,
  setPushRuleEnabled,
  type PushRuleJson,
} from '../../protocol/endpoints/push-rules.js';
import { PUSH_RULE_KINDS, type PushRule, type PushRuleset, type PushRulesService } from '../../push/index.js';
import { route } from '../plumbing/route.js';

/** The service's read-only rules as the reply's plain JSON arrays. */
function ruleJson(rule: PushRule): PushRuleJson {
  const { conditions, actions, ...rest } = rule;
  return { ...rest, actions: [...actions], ...(conditions === undefined ? {} : { conditions: [...conditions] }) };
}
const rulesetJson = (ruleset: PushRuleset) =>
  Object.fromEntries(PUSH_RULE_KINDS.map((kind) => [kind, ruleset[kind].map(ruleJson)])) as Record<keyof PushRuleset, PushRuleJson[]>;

/** The user's own push rules, in the one `global` scope. */
export function pushRuleRoutes(pushRules: PushRulesService) {
  return async (app: FastifyInstance): Promise<void> => {
    route(app, getPushRules, async ({ requester }) => ({ global: rulesetJson(await pushRules.ruleset(requester.userId)) }));

    route(app, getPushRulesGlobal, async ({ requester }) => rulesetJson(await pushRules.ruleset(requester.userId)));

    route(app, getPushRule, async ({ params, requester }) => ruleJson(await pushRules.rule(requester.userId, params.kind, params.ruleId)));

    route(app, setPushRule, async ({ params, query, body, requester }) => {
      await pushRules.putRule(requester.userId, params.kind, params.ruleId, body, { before: query.before, after: query.after });
      return {};
    });

    route(app, deletePushRule, async ({ params, requester }) => {
      await pushRules.deleteRule(requester.userId, params.kind, params.ruleId);
      return {};
    });

    route(app, isPushRuleEnabled, async ({ params, requester }) => ({
      enabled: (await pushRules.rule(requester.userId, params.kind, params.ruleId)).enabled,
    }));

    route(app, setPushRuleEnabled, async ({ params, body, requester }) => {
      await pushRules.setEnabled(requester.userId, params.kind, params.ruleId, body.enabled);
      return {};
    });

    route(app, getPushRuleActions, async ({ params, requester }) => ({
      actions: [...(await pushRules.rule(requester.userId, params.kind, params.ruleId)).actions],
    }));

    route(app, setPushRuleActions, async ({ params, body, requester }) => {
      await pushRules.setActions(requester.userId, params.kind, params.ruleId, body.actions);
      return {};
    });
  };
}
