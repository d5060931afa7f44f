import { isPlainObject } from '../crypto/index.js';
import { stateKey } from '../events/index.js';
import { membershipOf, type PresenceState, type PresenceStore, type ReceiptStore, type StreamNotifier } from '../ephemeral/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { isEventId, isUserId } from '../protocol/index.js';
import { serverAclAllows, type RoomReads } from '../rooms/index.js';
import type { InboundTransactionStore, RemoteToDeviceMessage } from './inbound-ports.js';
import { serverOfUser } from './sender-destinations.js';

/**
 * The EDUs of an inbound transaction (server-server API, "EDUs" and the sections of each type). A server
 * speaks only for its own users: an EDU about a user of another server is ignored, as are EDUs for rooms
 * the server's ACL denies (typing, receipts) and types this server does not know. Nothing here fails the
 * transaction: a bad EDU is logged (never its content) and skipped.
 */

/** How long a remote user types unless renewed (Synapse's federation typing timeout). */
export const REMOTE_TYPING_TIMEOUT_MS = 60_000;
/** The spec: message_id is at most 32 codepoints; a little slack for servers that count bytes. */
const MAX_MESSAGE_ID_LENGTH = 64;
const PRESENCE_STATES: ReadonlySet<string> = new Set<PresenceState>(['online', 'unavailable', 'offline']);

export interface InboundEdu {
  readonly edu_type: string;
  readonly content: unknown;
}

export interface InboundEduDeps {
  readonly rooms: Pick<RoomReads, 'room' | 'currentStateEntries' | 'events' | 'roomsWithMembership'>;
  readonly typing: { applyRemote(roomId: string, userId: string, typing: boolean, timeoutMs: number): void };
  readonly receipts: { readonly store: Pick<ReceiptStore, 'putReceipt'>; readonly notify: StreamNotifier };
  /** null when presence is disabled (config presence.enabled): m.presence is ignored. */
  readonly presence: { readonly store: Pick<PresenceStore, 'putPresence'>; readonly notify: StreamNotifier } | null;
  /**
   * Whether a local user is joining a room through the server right now. Its members' presence comes
   * as soon as it has let the join in, often before this server has written the room: it is kept.
   */
  readonly joiningThrough?: (server: string) => boolean;
  readonly toDevice: { readonly notify: (notice: { readonly position: number; readonly users: readonly string[] }) => void };
  /** Tells the syncs of the user's room-mates that the user's device list moved (the keys service's announce). */
  readonly deviceLists: {
    announce(userId: string, position: number): Promise<void>;
    /**
     * Brings the kept copy of the remote user's device list up to date (src/e2ee/remote-keys.ts) and says
     * whether to announce the change now ('unchanged' also when the list is being fetched again: the
     * fetch announces it).
     */
    remoteUpdate?(eduType: 'm.device_list_update' | 'm.signing_key_update', userId: string, content: Readonly<Record<string, unknown>>): Promise<'changed' | 'unchanged'>;
  };
  readonly store: Pick<InboundTransactionStore, 'queueRemoteToDevice' | 'remoteDeviceListChanged'>;
  readonly serverName: string;
  readonly clock: Clock;
  readonly log: Logger;
}

export function createInboundEdus(deps: InboundEduDeps) {
  const { rooms, serverName, clock, log } = deps;

  const ofOrigin = (userId: unknown, origin: string): userId is string => typeof userId === 'string' && isUserId(userId) && serverOfUser(userId) === origin;

  async function aclAllows(roomId: string, origin: string): Promise<boolean> {
    const key = stateKey('m.room.server_acl', '');
    const eventId = (await rooms.currentStateEntries(roomId, [key])).get(key);
    const content = eventId === undefined ? undefined : (await rooms.events([eventId])).get(eventId)?.event.content;
    return serverAclAllows(content, origin);
  }

  /** A room this server is in, whose ACL lets `origin` in, where `userId` is joined. */
  async function joinedHere(roomId: string, userId: string, origin: string): Promise<boolean> {
    if ((await rooms.room(roomId)) === undefined || !(await aclAllows(roomId, origin))) return false;
    return (await membershipOf(rooms, roomId, userId)) === 'join';
  }

  /** Users we share no room with are of no interest to anyone here: their presence and devices are not kept. */
  const knownUser = async (userId: string) => (await rooms.roomsWithMembership(userId, 'join')).length > 0;

  async function typing(origin: string, content: Record<string, unknown>): Promise<void> {
    const { room_id: roomId, user_id: userId, typing } = content;
    if (!ofOrigin(userId, origin) || typeof typing !== 'boolean' || typeof roomId !== 'string') return;
    if (!(await joinedHere(roomId, userId, origin))) return;
    deps.typing.applyRemote(roomId, userId, typing, REMOTE_TYPING_TIMEOUT_MS);
  }

  async function receipt(origin: string, content: Record<string, unknown>): Promise<void> {
    for (const [roomId, byType] of Object.entries(content)) {
      // Only public read receipts travel between servers; m.read.private never does.
      const reads = isPlainObject(byType) ? byType['m.read'] : undefined;
      if (!isPlainObject(reads) || (await rooms.room(roomId)) === undefined || !(await aclAllows(roomId, origin))) continue;
      for (const [userId, value] of Object.entries(reads)) {
        if (!ofOrigin(userId, origin) || !isPlainObject(value) || (await membershipOf(rooms, roomId, userId)) !== 'join') continue;
        const eventId = Array.isArray(value.event_ids) ? value.event_ids[0] : undefined;
        if (typeof eventId !== 'string' || !isEventId(eventId)) continue;
        const data = isPlainObject(value.data) ? value.data : {};
        const threadId = data.thread_id === 'main' || (typeof data.thread_id === 'string' && isEventId(data.thread_id)) ? data.thread_id : null;
        const ts = typeof data.ts === 'number' && Number.isSafeInteger(data.ts) ? data.ts : clock.now();
        // An event not (yet) here is still recorded, as Synapse does; one here gives its place in the timeline.
        const stored = (await rooms.events([eventId])).get(eventId);
        const eventPosition = stored && stored.event.roomId === roomId && stored.rejectedReason === null ? stored.streamPosition : null;
        const position = await deps.receipts.store.putReceipt({ roomId, userId, receiptType: 'm.read', threadId, eventId, eventPosition, ts });
        if (position !== null) deps.receipts.notify({ position, rooms: [roomId] });
      }
    }
  }

  async function presence(origin: string, content: Record<string, unknown>): Promise<void> {
    if (deps.presence === null || !Array.isArray(content.push)) return;
    for (const update of content.push) {
      if (!isPlainObject(update) || !ofOrigin(update.user_id, origin)) continue;
      const userId = update.user_id as string;
      const state = update.presence;
      if (typeof state !== 'string' || !PRESENCE_STATES.has(state)) continue;
      if (deps.joiningThrough?.(origin) !== true && !(await knownUser(userId))) continue;
      const ago = typeof update.last_active_ago === 'number' && Number.isSafeInteger(update.last_active_ago) ? Math.max(0, update.last_active_ago) : 0;
      const statusMsg = typeof update.status_msg === 'string' ? update.status_msg : null;
      const position = await deps.presence.store.putPresence(userId, state as PresenceState, statusMsg, clock.now() - ago);
      deps.presence.notify({ position, users: [userId], rooms: await rooms.roomsWithMembership(userId, 'join') });
    }
  }

  async function toDevice(origin: string, content: Record<string, unknown>): Promise<void> {
    const { sender, type, message_id: messageId, messages } = content;
    if (!ofOrigin(sender, origin) || typeof type !== 'string' || type === '' || !isPlainObject(messages)) return;
    if (typeof messageId !== 'string' || messageId === '' || messageId.length > MAX_MESSAGE_ID_LENGTH) return;
    const queued: RemoteToDeviceMessage[] = [];
    for (const [userId, devices] of Object.entries(messages)) {
      if (!isUserId(userId) || serverOfUser(userId) !== serverName || !isPlainObject(devices)) continue;
      for (const [deviceId, body] of Object.entries(devices)) if (isPlainObject(body)) queued.push({ userId, deviceId, content: body });
    }
    const result = await deps.store.queueRemoteToDevice(sender, messageId, type, queued, clock.now());
    if (result !== null && result.recipients.length > 0) deps.toDevice.notify({ position: result.position, users: result.recipients });
  }

  /** m.device_list_update and m.signing_key_update: the user's devices or keys changed; clients ask /keys/query again. */
  async function deviceListChanged(eduType: 'm.device_list_update' | 'm.signing_key_update', origin: string, content: Record<string, unknown>): Promise<void> {
    const userId = content.user_id;
    if (!ofOrigin(userId, origin)) return;
    if ((await deps.deviceLists.remoteUpdate?.(eduType, userId, content)) === 'unchanged') return;
    if (!(await knownUser(userId))) return;
    const position = await deps.store.remoteDeviceListChanged([userId]);
    await deps.deviceLists.announce(userId, position);
  }

  const handlers: Record<string, (origin: string, content: Record<string, unknown>) => Promise<void>> = {
    'm.typing': typing,
    'm.receipt': receipt,
    'm.presence': presence,
    'm.direct_to_device': toDevice,
    'm.device_list_update': (origin, content) => deviceListChanged('m.device_list_update', origin, content),
    'm.signing_key_update': (origin, content) => deviceListChanged('m.signing_key_update', origin, content),
  };

  return {
    /** Handles the transaction's EDUs in order; unknown types and bad EDUs are skipped. */
    async receiveEdus(origin: string, edus: readonly InboundEdu[]): Promise<void> {
      for (const edu of edus) {
        const handler = Object.hasOwn(handlers, edu.edu_type) ? handlers[edu.edu_type] : undefined;
        if (handler === undefined || !isPlainObject(edu.content)) continue;
        try {
          await handler(origin, edu.content);
        } catch (err) {
          log.warn({ err, origin, eduType: edu.edu_type }, 'inbound EDU failed');
        }
      }
    },
  };
}

export type InboundEdus = ReturnType<typeof createInboundEdus>;
