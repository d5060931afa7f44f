import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { clientV3, defineEndpoint } from '../endpoint.js';

/**
 * Push rules (client-server API, "Push Rules: API"). Only the `global` scope exists, so it is part of
 * the path. An unknown kind fails the params schema: M_INVALID_PARAM. The collection paths end in a slash
 * as the spec writes them; without it they are other paths (404 or, under /pushrules/, 400 as Synapse).
 */

const Kind = Type.Union([
  Type.Literal('override'),
  Type.Literal('underride'),
  Type.Literal('sender'),
  Type.Literal('room'),
  Type.Literal('content'),
]);
const RuleParams = Type.Object({ kind: Kind, ruleId: Type.String() });

const open = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: true });
const Action = Type.Union([Type.String(), Type.Record(Type.String(), Type.Unknown())]);
const Actions = Type.Array(Action);
const Condition = open({ kind: Type.String() });
const Rule = open({
  rule_id: Type.String(),
  default: Type.Boolean(),
  enabled: Type.Boolean(),
  actions: Actions,
  conditions: Type.Optional(Type.Array(Condition)),
  pattern: Type.Optional(Type.String()),
});
export type PushRuleJson = Static<typeof Rule>;
const Ruleset = open({
  override: Type.Array(Rule),
  content: Type.Array(Rule),
  room: Type.Array(Rule),
  sender: Type.Array(Rule),
  underride: Type.Array(Rule),
});

export const getPushRules = defineEndpoint({
  name: 'getPushRules',
  method: 'GET',
  ...clientV3('/pushrules/'),
  auth: 'user',
  response: Type.Object({ global: Ruleset }),
});

export const getPushRulesGlobal = defineEndpoint({
  name: 'getPushRulesGlobal',
  method: 'GET',
  ...clientV3('/pushrules/global/'),
  auth: 'user',
  response: Ruleset,
});

/** The rules of one kind, most important first: Synapse's path, which sytest and older clients call. */
export const getPushRulesOfKind = defineEndpoint({
  name: 'getPushRulesOfKind',
  method: 'GET',
  ...clientV3('/pushrules/global/{kind}/'),
  auth: 'user',
  params: Type.Object({ kind: Kind }),
  response: Type.Array(Rule),
});

export const getPushRule = defineEndpoint({
  name: 'getPushRule',
  method: 'GET',
  ...clientV3('/pushrules/global/{kind}/{ruleId}'),
  auth: 'user',
  params: RuleParams,
  response: Rule,
});

export const setPushRule = defineEndpoint({
  name: 'setPushRule',
  method: 'PUT',
  ...clientV3('/pushrules/global/{kind}/{ruleId}'),
  auth: 'user',
  params: RuleParams,
  query: Type.Object({ before: Type.Optional(Type.String()), after: Type.Optional(Type.String()) }),
  body: open({
    actions: Actions,
    conditions: Type.Optional(Type.Array(Condition)),
    pattern: Type.Optional(Type.String()),
  }),
  response: Type.Object({}),
});

export const deletePushRule = defineEndpoint({
  name: 'deletePushRule',
  method: 'DELETE',
  ...clientV3('/pushrules/global/{kind}/{ruleId}'),
  auth: 'user',
  params: RuleParams,
  response: Type.Object({}),
});

export const isPushRuleEnabled = defineEndpoint({
  name: 'isPushRuleEnabled',
  method: 'GET',
  ...clientV3('/pushrules/global/{kind}/{ruleId}/enabled'),
  auth: 'user',
  params: RuleParams,
  response: Type.Object({ enabled: Type.Boolean() }),
});

export const setPushRuleEnabled = defineEndpoint({
  name: 'setPushRuleEnabled',
  method: 'PUT',
  ...clientV3('/pushrules/global/{kind}/{ruleId}/enabled'),
  auth: 'user',
  params: RuleParams,
  body: open({ enabled: Type.Boolean() }),
  response: Type.Object({}),
});

export const getPushRuleActions = defineEndpoint({
  name: 'getPushRuleActions',
  method: 'GET',
  ...clientV3('/pushrules/global/{kind}/{ruleId}/actions'),
  auth: 'user',
  params: RuleParams,
  response: Type.Object({ actions: Actions }),
});

export const setPushRuleActions = defineEndpoint({
  name: 'setPushRuleActions',
  method: 'PUT',
  ...clientV3('/pushrules/global/{kind}/{ruleId}/actions'),
  auth: 'user',
  params: RuleParams,
  body: open({ actions: Actions }),
  response: Type.Object({}),
});
