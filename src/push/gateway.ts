/**
 * What a push gateway is sent (push gateway API, POST /_matrix/push/v1/notify): the notification for one
 * event, addressed to the pushers (devices) of one user. Pure.
 */
import type { PushAction } from './types.js';
import type { PusherRecord } from './ports.js';

/** The set_tweak actions as tweaks (`sound`, `highlight` ...); a highlight tweak without a value is true. */
export function tweaksOf(actions: readonly PushAction[] | null): Record<string, unknown> {
  const tweaks: Record<string, unknown> = {};
  for (const action of actions ?? []) {
    if (typeof action !== 'object' || action === null) continue;
    const { set_tweak: name, value } = action as { set_tweak?: unknown; value?: unknown };
    if (typeof name !== 'string') continue;
    tweaks[name] = value === undefined && name === 'highlight' ? true : value;
  }
  return tweaks;
}

/** The device entry of a pusher: its data as the client gave it, without the gateway URL. */
export function deviceOf(pusher: PusherRecord, tweaks: Record<string, unknown>): Record<string, unknown> {
  const { url: _url, ...data } = pusher.data;
  return { app_id: pusher.appId, pushkey: pusher.pushkey, pushkey_ts: Math.floor(pusher.createdTs / 1000), data, tweaks };
}

/** The pushed event and what the gateway may show of it. */
export interface PushedEvent {
  readonly eventId: string;
  readonly roomId: string;
  readonly type: string;
  readonly sender: string;
  readonly stateKey?: string | undefined;
  readonly content: Readonly<Record<string, unknown>>;
  readonly senderDisplayName?: string | undefined;
  readonly roomName?: string | undefined;
  readonly roomAlias?: string | undefined;
}

/**
 * The notification body for one pusher. `event_id_only` pushers (data.format) get the ids and counts and
 * nothing of the content, as the spec has it; `id` repeats event_id for gateways written against Synapse.
 */
export function notificationBody(
  event: PushedEvent,
  pusher: PusherRecord,
  recipient: string,
  actions: readonly PushAction[] | null,
  unread: number,
): Record<string, unknown> {
  const tweaks = tweaksOf(actions);
  const prio = tweaks.sound !== undefined || tweaks.highlight === true ? 'high' : 'low';
  const common = { event_id: event.eventId, room_id: event.roomId, counts: { unread }, devices: [deviceOf(pusher, tweaks)], prio };
  if (pusher.data.format === 'event_id_only') return { notification: common };
  return {
    notification: {
      ...common,
      id: event.eventId,
      type: event.type,
      sender: event.sender,
      ...(event.senderDisplayName === undefined ? {} : { sender_display_name: event.senderDisplayName }),
      ...(event.roomName === undefined ? {} : { room_name: event.roomName }),
      ...(event.roomAlias === undefined ? {} : { room_alias: event.roomAlias }),
      // Member events say whose and what (membership is not in the spec; Synapse sends it and gateways read it).
      ...(event.type === 'm.room.member' ? { user_is_target: event.stateKey === recipient, membership: event.content.membership } : {}),
      content: event.content,
    },
  };
}

/** A badge update: no event, only the user's new unread count (sent when a read receipt clears a room). */
export function badgeBody(pusher: PusherRecord, unread: number): Record<string, unknown> {
  return { notification: { counts: { unread }, devices: [deviceOf(pusher, {})], prio: 'high' } };
}
