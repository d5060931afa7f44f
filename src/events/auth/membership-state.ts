import type { AuthStateLookup } from './types.js';

/** A user's membership in the state the lookup describes, or undefined if they have no member event. */
export function membershipOf(userId: string, lookup: AuthStateLookup): string | undefined {
  const membership = lookup('m.room.member', userId)?.content.membership;
  return typeof membership === 'string' ? membership : undefined;
}

/**
 * The room's join rule. Without an m.room.join_rules event (or without `join_rule` in it) the room is
 * invite-only, as Synapse and ruma read it: the spec's rules name no default.
 */
export function joinRuleOf(lookup: AuthStateLookup): string {
  const rule = lookup('m.room.join_rules', '')?.content.join_rule;
  return typeof rule === 'string' ? rule : 'invite';
}
