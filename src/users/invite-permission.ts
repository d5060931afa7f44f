/**
 * Invite permission (client-server API, "Invite permission", Matrix 1.18): a user whose
 * m.invite_permission_config account data says `default_action: block` gets no invites. Anything else,
 * missing or malformed, lets invites through.
 */

export const INVITE_PERMISSION_CONFIG = 'm.invite_permission_config';

export function blocksInvites(content: Readonly<Record<string, unknown>> | undefined): boolean {
  return content?.default_action === 'block';
}
