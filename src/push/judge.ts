import type { PushRuleset } from './types.js';
import { actionsHighlight, actionsNotify, evaluatePushRules, type PushEvent } from './evaluate.js';
import type { PushAction } from './types.js';

/** What the room contributes to judging an event: its joined member count, the user's name, its power levels. */
export interface RoomFacts {
  readonly memberCount: number;
  readonly displayName: string | null;
  /** The content of m.room.power_levels, if the room has one. */
  readonly powerLevels: Readonly<Record<string, unknown>> | undefined;
}

export interface Verdict {
  readonly notify: boolean;
  readonly highlight: boolean;
}

function senderPowerLevel(powerLevels: RoomFacts['powerLevels'], sender: string): number {
  const users = powerLevels?.users;
  const own = typeof users === 'object' && users !== null ? (users as Record<string, unknown>)[sender] : undefined;
  if (typeof own === 'number') return own;
  return typeof powerLevels?.users_default === 'number' ? powerLevels.users_default : 0;
}

/** Binds a user's ruleset into a function that gives an event's actions (null: no rule matched). Pure. */
export function pushActions(ruleset: PushRuleset): (served: object, room: RoomFacts) => readonly PushAction[] | null {
  return (served, room) => {
    // A served client event is plain JSON: reading it by key is what the push rules' conditions do.
    const event = served as PushEvent;
    const notifications = room.powerLevels?.notifications;
    return evaluatePushRules(ruleset, event, {
      memberCount: room.memberCount,
      displayName: room.displayName,
      senderPowerLevel: senderPowerLevel(room.powerLevels, typeof event.sender === 'string' ? event.sender : ''),
      notificationPowerLevels: typeof notifications === 'object' && notifications !== null ? (notifications as Record<string, unknown>) : undefined,
    });
  };
}

/** Binds a user's ruleset into a function that says whether an event notifies them and highlights. Pure. */
export function pushJudge(ruleset: PushRuleset): (served: object, room: RoomFacts) => Verdict {
  const actionsOf = pushActions(ruleset);
  return (served, room) => {
    const actions = actionsOf(served, room);
    return { notify: actionsNotify(actions), highlight: actionsHighlight(actions) };
  };
}
