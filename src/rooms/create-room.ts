import type { EventDraft, RoomVersionRules } from '../events/index.js';
import { MatrixError } from '../protocol/index.js';

export type RoomPreset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

export interface InitialStateEvent {
  readonly type: string;
  readonly stateKey: string;
  readonly content: Readonly<Record<string, unknown>>;
}

export interface CreateRoomOptions {
  readonly creator: string;
  readonly visibility?: 'public' | 'private';
  readonly preset?: RoomPreset;
  readonly creationContent?: Readonly<Record<string, unknown>>;
  readonly powerLevelContentOverride?: Readonly<Record<string, unknown>>;
  readonly initialState?: readonly InitialStateEvent[];
  readonly name?: string;
  readonly topic?: string;
  readonly invite?: readonly string[];
  readonly isDirect?: boolean;
  readonly canonicalAlias?: string;
  /** The creator's displayname and avatar_url, carried by their join event. */
  readonly creatorProfile?: Readonly<Record<string, unknown>>;
}

const PRESET_STATE: Record<RoomPreset, { joinRule: string; historyVisibility: string; guestCanJoin: boolean; invitePower: number }> = {
  private_chat: { joinRule: 'invite', historyVisibility: 'shared', guestCanJoin: true, invitePower: 0 },
  trusted_private_chat: { joinRule: 'invite', historyVisibility: 'shared', guestCanJoin: true, invitePower: 0 },
  public_chat: { joinRule: 'public', historyVisibility: 'shared', guestCanJoin: false, invitePower: 50 },
};

/**
 * The events a new room starts with, in the order the spec's createRoom lists: create, the creator's
 * join, power levels, canonical alias, the preset's state, initial_state, name and topic, invites.
 * Pure: the room server builds, checks and persists each in turn, so every one passes the auth rules.
 */
export function createRoomDrafts(options: CreateRoomOptions, rules: RoomVersionRules): EventDraft[] {
  const creator = options.creator;
  const preset = options.preset ?? (options.visibility === 'public' ? 'public_chat' : 'private_chat');
  const presetState = PRESET_STATE[preset];
  const invitees = options.invite ?? [];
  const trusted = preset === 'trusted_private_chat';
  const creatorsHaveInfinitePower = rules.roomIdFormat === 'create-event-hash';

  const createContent: Record<string, unknown> = { ...options.creationContent, room_version: rules.id };
  if (!rules.keepsCreateContentWholly) createContent.creator = creator;
  else delete createContent.creator;
  if (creatorsHaveInfinitePower && trusted && invitees.length > 0) {
    const additional = Array.isArray(createContent.additional_creators) ? createContent.additional_creators : [];
    createContent.additional_creators = [...new Set([...(additional as unknown[]), ...invitees])];
  }

  const drafts: EventDraft[] = [
    { type: 'm.room.create', stateKey: '', sender: creator, content: createContent },
    { type: 'm.room.member', stateKey: creator, sender: creator, content: { ...options.creatorProfile, membership: 'join' } },
    {
      type: 'm.room.power_levels',
      stateKey: '',
      sender: creator,
      content: powerLevels(options, presetState.invitePower, trusted, creatorsHaveInfinitePower),
    },
  ];
  if (options.canonicalAlias !== undefined) {
    drafts.push({ type: 'm.room.canonical_alias', stateKey: '', sender: creator, content: { alias: options.canonicalAlias } });
  }

  const initial = options.initialState ?? [];
  const setByInitialState = new Set(initial.map((event) => `${event.type}\u0000${event.stateKey}`));
  const presetDrafts: EventDraft[] = [
    { type: 'm.room.join_rules', stateKey: '', sender: creator, content: { join_rule: presetState.joinRule } },
    {
      type: 'm.room.history_visibility',
      stateKey: '',
      sender: creator,
      content: { history_visibility: presetState.historyVisibility },
    },
  ];
  if (presetState.guestCanJoin) {
    presetDrafts.push({ type: 'm.room.guest_access', stateKey: '', sender: creator, content: { guest_access: 'can_join' } });
  }
  // initial_state wins over the preset for the same entry (as Synapse does), rather than sending both.
  drafts.push(...presetDrafts.filter((draft) => !setByInitialState.has(`${draft.type}\u0000${draft.stateKey}`)));

  for (const event of initial) {
    if (event.type === 'm.room.create' || (event.type === 'm.room.member' && event.stateKey === creator)) {
      throw new MatrixError('M_BAD_JSON', `initial_state cannot set ${event.type} for the creator`);
    }
    drafts.push({ type: event.type, stateKey: event.stateKey, sender: creator, content: event.content });
  }
  if (options.name !== undefined) drafts.push({ type: 'm.room.name', stateKey: '', sender: creator, content: { name: options.name } });
  if (options.topic !== undefined) {
    drafts.push({
      type: 'm.room.topic',
      stateKey: '',
      sender: creator,
      content: { topic: options.topic, 'm.topic': [{ mimetype: 'text/plain', body: options.topic }] },
    });
  }
  for (const invitee of invitees) {
    drafts.push({
      type: 'm.room.member',
      stateKey: invitee,
      sender: creator,
      content: options.isDirect ? { membership: 'invite', is_direct: true } : { membership: 'invite' },
    });
  }
  return drafts;
}

function powerLevels(
  options: CreateRoomOptions,
  invitePower: number,
  trusted: boolean,
  creatorsHaveInfinitePower: boolean,
): Record<string, unknown> {
  const users: Record<string, number> = {};
  // Room version 12 gives creators unlimited power; listing them in `users` is forbidden.
  if (!creatorsHaveInfinitePower) {
    users[options.creator] = 100;
    if (trusted) for (const invitee of options.invite ?? []) users[invitee] = 100;
  }
  const content: Record<string, unknown> = {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      // v12: tombstones must need more than state_default, so that only admins can end a room.
      'm.room.tombstone': creatorsHaveInfinitePower ? 150 : 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: invitePower,
    historical: 100,
    notifications: { room: 50 },
  };
  return { ...content, ...options.powerLevelContentOverride };
}
