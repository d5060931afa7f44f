import { isIpLiteral, isServerName, splitServerName, type ServerName } from '../protocol/index.js';

/**
 * Server ACLs (client-server API, m.room.server_acl; server-server API, "Server Access Control Lists"):
 * whether a server may take part in a room, from the content of the room's current m.room.server_acl.
 * Globs are matched case-insensitively against the server name without its port. Pure.
 */

/** The spec's rules in order: no ACL allows; IP literals when refused; deny; allow; otherwise deny. */
export function serverAclAllows(content: Readonly<Record<string, unknown>> | undefined, serverName: string): boolean {
  if (content === undefined) return true;
  if (!isServerName(serverName)) return false;
  const host = hostOf(serverName);
  if (content.allow_ip_literals === false && isIpLiteral(serverName)) return false;
  if (globs(content.deny).some((glob) => glob.test(host))) return false;
  return globs(content.allow).some((glob) => glob.test(host));
}

/** The host part: an IPv6 literal keeps its brackets, as Synapse matches it. */
function hostOf(serverName: ServerName): string {
  return splitServerName(serverName).host;
}

/** A list of glob strings as patterns; anything else in the list (numbers, objects) matches nothing. */
function globs(value: unknown): RegExp[] {
  if (!Array.isArray(value)) return [];
  return value.filter((entry): entry is string => typeof entry === 'string').map(globPattern);
}

/** `*` is any run of characters, `?` one character; everything else is literal. */
function globPattern(glob: string): RegExp {
  let source = '';
  for (const char of glob) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}
