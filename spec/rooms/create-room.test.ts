import t from 'tap';
import { createRoomDrafts } from '../../src/rooms/create-room.js';
import { MatrixError } from '../../src/protocol/index.js';
import { rules } from '../helpers/events.js';

const alice = '@alice:hearth.test';
const bob = '@bob:hearth.test';

t.test('events come in the order the spec lists', async (t) => {
  const drafts = createRoomDrafts(
    {
      creator: alice,
      preset: 'public_chat',
      name: 'Lobby',
      topic: 'Say hi',
      invite: [bob],
      canonicalAlias: '#lobby:hearth.test',
      initialState: [{ type: 'm.room.encryption', stateKey: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    },
    rules('10'),
  );
  t.same(
    drafts.map((d) => `${d.type}|${d.stateKey}`),
    [
      'm.room.create|',
      `m.room.member|${alice}`,
      'm.room.power_levels|',
      'm.room.canonical_alias|',
      'm.room.join_rules|',
      'm.room.history_visibility|',
      'm.room.encryption|',
      'm.room.name|',
      'm.room.topic|',
      `m.room.member|${bob}`,
    ],
  );
  t.same(drafts[0]!.content, { creator: alice, room_version: '10' });
  t.same(drafts[4]!.content, { join_rule: 'public' });
});

t.test('presets set join rules, history visibility and guest access', async (t) => {
  const kinds = (preset: 'private_chat' | 'public_chat' | 'trusted_private_chat') =>
    Object.fromEntries(
      createRoomDrafts({ creator: alice, preset }, rules('11'))
        .filter((d) => ['m.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access'].includes(d.type))
        .map((d) => [d.type, Object.values(d.content)[0]]),
    );
  t.same(kinds('private_chat'), { 'm.room.join_rules': 'invite', 'm.room.history_visibility': 'shared', 'm.room.guest_access': 'can_join' });
  t.same(kinds('public_chat'), { 'm.room.join_rules': 'public', 'm.room.history_visibility': 'shared' });
  t.same(kinds('trusted_private_chat'), { 'm.room.join_rules': 'invite', 'm.room.history_visibility': 'shared', 'm.room.guest_access': 'can_join' });
  const visibilityPublic = createRoomDrafts({ creator: alice, visibility: 'public' }, rules('11'));
  t.same(visibilityPublic.find((d) => d.type === 'm.room.join_rules')?.content, { join_rule: 'public' }, 'public visibility implies public_chat');
});

t.test('initial_state replaces the preset entry it names instead of adding a second one', async (t) => {
  const drafts = createRoomDrafts(
    { creator: alice, preset: 'public_chat', initialState: [{ type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'knock' } }] },
    rules('10'),
  );
  const joinRules = drafts.filter((d) => d.type === 'm.room.join_rules');
  t.equal(joinRules.length, 1);
  t.same(joinRules[0]!.content, { join_rule: 'knock' });
});

t.test('creators: v1-10 name them in content, v11 drops the key, v12 gives them infinite power', async (t) => {
  t.same(createRoomDrafts({ creator: alice }, rules('10'))[0]!.content, { creator: alice, room_version: '10' });
  t.same(createRoomDrafts({ creator: alice }, rules('11'))[0]!.content, { room_version: '11' });
  const v11Power = createRoomDrafts({ creator: alice, preset: 'trusted_private_chat', invite: [bob] }, rules('11'))[2]!.content;
  t.same(v11Power.users, { [alice]: 100, [bob]: 100 }, 'trusted invitees get the creator power');

  const v12 = createRoomDrafts({ creator: alice, preset: 'trusted_private_chat', invite: [bob] }, rules('12'));
  t.same(v12[0]!.content, { room_version: '12', additional_creators: [bob] }, 'trusted invitees become additional creators');
  t.same(v12[2]!.content.users, {}, 'creators are never listed in users');
  t.equal((v12[2]!.content.events as Record<string, number>)['m.room.tombstone'], 150, 'tombstones need more than state_default');
});

t.test('power_level_content_override replaces the defaults key by key', async (t) => {
  const power = createRoomDrafts({ creator: alice, powerLevelContentOverride: { ban: 100, events_default: 10 } }, rules('10'))[2]!.content;
  t.equal(power.ban, 100);
  t.equal(power.events_default, 10);
  t.equal(power.kick, 50, 'untouched keys keep their default');
});

t.test('initial_state may not replace the create event or the creator membership', async (t) => {
  t.throws(
    () => createRoomDrafts({ creator: alice, initialState: [{ type: 'm.room.create', stateKey: '', content: {} }] }, rules('10')),
    new MatrixError('M_BAD_JSON', 'initial_state cannot set m.room.create for the creator'),
  );
});
