export { PUSH_RULE_KINDS, PUSH_RULES_TYPE, isPushRuleKind } from './types.js';
export type { PushAction, PushCondition, PushRule, PushRuleKind, PushRuleset } from './types.js';
export { defaultPushRules, MASTER_RULE_ID } from './default-rules.js';
export {
  actionsHighlight,
  actionsNotify,
  conditionMatches,
  evaluatePushRules,
  memberCountMatches,
  ruleMatches,
  type PushContext,
  type PushEvent,
} from './evaluate.js';
export { globMatches, globMatchesWords, propertyAt, splitPropertyPath, ABSENT } from './match.js';
export { effectiveRuleset, userPushRules, type RulePosition, type RuleRequest, type UserPushRules } from './ruleset.js';
export type { PushRuleStore } from './ports.js';
export { createPushRulesService, type PushRulesAccountData, type PushRulesDeps, type PushRulesService } from './service.js';
export { pushActions, pushJudge, type RoomFacts, type Verdict } from './judge.js';
export type { PusherRecord, PusherStore } from './ports.js';
export { createPusherService, type PusherDeps, type PusherRequest, type PusherService } from './pushers.js';
export { createPushSender, type GatewayAnswer, type PushRoomFacts, type PushSender, type PushSenderDeps, type PushSenderStore } from './sender.js';
export { badgeBody, notificationBody, tweaksOf, type PushedEvent } from './gateway.js';
