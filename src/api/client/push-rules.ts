import type { FastifyInstance } from 'fastify';
import {
  deletePushRule,
  getPushRule,
  getPushRuleActions,
  getPushRules,
  getPushRulesGlobal,
  getPushRulesOfKind,
  isPushRuleEnabled,
  setPushRule,
  setPushRuleActions,
  setPushRuleEnabled,
  type PushRuleJson,
} from '../../protocol/endpoints/push-rules.js';
import type { Endpoint, HttpMethod } from '../../protocol/endpoint.js';
import { MatrixError } from '../../protocol/index.js';
import { PUSH_RULE_KINDS, type PushRule, type PushRuleset, type PushRulesService } from '../../push/index.js';
import { route, toFastifyPath } from '../plumbing/route.js';

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

    route(app, getPushRulesOfKind, async ({ params, requester }) => (await pushRules.ruleset(requester.userId))[params.kind].map(ruleJson));

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

    refuseOtherPushRulePaths(app);
  };
}

const PUSH_RULE_ENDPOINTS: readonly Endpoint[] = [
  getPushRules, getPushRulesGlobal, getPushRulesOfKind, getPushRule, setPushRule, deletePushRule,
  isPushRuleEnabled, setPushRuleEnabled, getPushRuleActions, setPushRuleActions,
];
const METHODS: readonly HttpMethod[] = ['GET', 'PUT', 'POST', 'DELETE'];

/**
 * Any other path or method under /pushrules/ (no scope, another scope, a kind without a rule id, an
 * unknown attribute) is 400 M_UNRECOGNIZED, as Synapse answers and sytest checks, rather than the 404 or
 * 405 of the rest of the API. Registered here, every method at these paths is known, so the plumbing adds
 * no 405 of its own.
 */
function refuseOtherPushRulePaths(app: FastifyInstance): void {
  const methodsAt = new Map<string, Set<HttpMethod>>();
  const at = (url: string) => methodsAt.get(url) ?? methodsAt.set(url, new Set()).get(url)!;
  for (const root of [getPushRules.path, ...(getPushRules.aliases ?? [])]) at(`${root}*`);
  for (const endpoint of PUSH_RULE_ENDPOINTS) {
    for (const path of [endpoint.path, ...(endpoint.aliases ?? [])]) at(toFastifyPath(path)).add(endpoint.method);
  }
  for (const [url, methods] of methodsAt) {
    const others = METHODS.filter((method) => !methods.has(method));
    if (others.length === 0) continue;
    app.route({
      method: [...others],
      url,
      handler: async () => {
        throw new MatrixError('M_UNRECOGNIZED', 'Unrecognised push rules request; use /pushrules/global/{kind}/{ruleId}[/enabled|/actions]', {
          status: 400,
        });
      },
    });
  }
}
