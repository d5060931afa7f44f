/**
 * The user's m.ignored_user_list (client-server API, "Ignoring users"): whose messages and invites /sync
 * leaves out. Only the keys of `ignored_users` count; anything malformed reads as nobody ignored.
 */

export const IGNORED_USER_LIST = 'm.ignored_user_list';

export function ignoredUsersOf(content: Readonly<Record<string, unknown>> | undefined): ReadonlySet<string> {
  const users = content?.ignored_users;
  if (typeof users !== 'object' || users === null || Array.isArray(users)) return new Set();
  return new Set(Object.keys(users));
}
