import t from 'tap';
import { encodeBase64, signJson, signingKeyFromSeed } from '../../../src/crypto/index.js';
import { ALICE, ALL_VERSIONS, BOB, CAROL, DAVE, TestRoom, allows, refuses, standardRoom, versions } from '../fixtures/room-builder.js';

t.test("the creator's first join right after the create event", async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v);
    allows(t, room.check(room.member(ALICE, 'join')), `v${v} creator`);
    refuses(t, room.check(room.member(BOB, 'join')), 'm.room.member join', `v${v} someone else`);
    const late = room.event({ type: 'm.room.member', stateKey: ALICE, sender: ALICE, content: { membership: 'join' }, prevEvents: [room.create.eventId, '$other'] });
    refuses(t, room.check(late), 'm.room.member join', `v${v} two prev events`);
  }
  // v1-10 read content.creator, v11+ the sender: a create event whose creator field names Bob.
  for (const v of ALL_VERSIONS) {
    const room = new TestRoom(v, ALICE, { creator: BOB });
    const bob = room.check(room.member(BOB, 'join'));
    const alice = room.check(room.member(ALICE, 'join'));
    if (room.rules.creatorIsSender) {
      allows(t, alice, `v${v} the sender is the creator`);
      refuses(t, bob, 'm.room.member join', `v${v} content.creator means nothing`);
    } else {
      allows(t, bob, `v${v} content.creator is the creator`);
      refuses(t, alice, 'm.room.member join', `v${v} the sender is not`);
    }
  }
});

t.test('joins: public and invite-only rooms, bans, joining for someone else', async (t) => {
  for (const v of ALL_VERSIONS) {
    const pub = standardRoom(v, 'public');
    allows(t, pub.check(pub.member(BOB, 'join')), `v${v} public`);
    refuses(t, pub.check(pub.member(BOB, 'join', ALICE)), 'sender is not the state_key', `v${v} joining Bob`);
    pub.setMember(BOB, 'ban', ALICE);
    refuses(t, pub.check(pub.member(BOB, 'join')), 'm.room.member join: user is banned', `v${v} banned`);

    const priv = standardRoom(v, 'invite');
    refuses(t, priv.check(priv.member(BOB, 'join')), 'join rule is invite and the user is not invited', `v${v} uninvited`);
    priv.setMember(BOB, 'invite', ALICE);
    allows(t, priv.check(priv.member(BOB, 'join')), `v${v} invited`);
    priv.setMember(BOB, 'join');
    allows(t, priv.check(priv.member(BOB, 'join', BOB, { displayname: 'B' })), `v${v} already joined (profile change)`);

    const priv2 = standardRoom(v, 'private');
    refuses(t, priv2.check(priv2.member(BOB, 'join')), 'does not allow joining', `v${v} join rule "private"`);

    // No join rules event: the room is invite-only.
    const bare = new TestRoom(v);
    bare.setMember(ALICE, 'join');
    refuses(t, bare.check(bare.member(BOB, 'join')), 'join rule is invite', `v${v} no join rules`);
  }
});

t.test('knocking: v7+, join rule knock (and knock_restricted from v10)', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'knock');
    const knock = room.check(room.member(BOB, 'knock'));
    if (!room.rules.knocking) {
      refuses(t, knock, 'unknown membership "knock"', `v${v} knock is unknown`);
      refuses(t, room.check(room.member(BOB, 'join')), 'does not allow joining', `v${v} knock join rule is unknown`);
      continue;
    }
    allows(t, knock, `v${v} knock`);
    refuses(t, room.check(room.member(BOB, 'knock', ALICE)), 'm.room.member knock: sender is not the state_key', `v${v} knock for another`);
    refuses(t, room.check(room.member(BOB, 'join')), 'join rule is knock and the user is not invited', `v${v} join without invite`);
    room.setMember(BOB, 'knock');
    allows(t, room.check(room.member(BOB, 'leave')), `v${v} withdraw a knock`);
    refuses(t, room.check(room.member(BOB, 'join')), 'not invited', `v${v} knocking is not invited`);
    room.setMember(BOB, 'invite', ALICE);
    refuses(t, room.check(room.member(BOB, 'knock')), 'already invite', `v${v} knock while invited`);
    allows(t, room.check(room.member(BOB, 'join')), `v${v} join once invited`);
    room.setMember(CAROL, 'ban', ALICE);
    refuses(t, room.check(room.member(CAROL, 'knock')), 'already ban', `v${v} banned knock`);

    const pub = standardRoom(v, 'public');
    refuses(t, pub.check(pub.member(BOB, 'knock')), 'does not allow knocking', `v${v} public room`);

    const kr = standardRoom(v, 'knock_restricted');
    if (kr.rules.knockRestrictedJoins) allows(t, kr.check(kr.member(BOB, 'knock')), `v${v} knock_restricted`);
    else refuses(t, kr.check(kr.member(BOB, 'knock')), 'does not allow knocking', `v${v} knock_restricted unknown`);
  }
});

t.test('restricted joins (v8+) and knock_restricted (v10+) through join_authorised_via_users_server', async (t) => {
  for (const joinRule of ['restricted', 'knock_restricted']) {
    for (const v of ALL_VERSIONS) {
      const room = standardRoom(v, joinRule, { invite: 50 });
      room.setMember(DAVE, 'join'); // level 0: below the invite level
      const via = (user: string, signer = 'a.test') =>
        room.event({
          type: 'm.room.member',
          stateKey: BOB,
          sender: BOB,
          content: { membership: 'join', join_authorised_via_users_server: user },
          pdu: { signatures: { 'b.test': { 'ed25519:k': 's' }, [signer]: { 'ed25519:k': 's' } } },
        });
      const supported = joinRule === 'restricted' ? room.rules.restrictedJoins : room.rules.knockRestrictedJoins;
      if (!supported) {
        refuses(t, room.check(via(ALICE)), 'does not allow joining', `v${v} ${joinRule} unknown`);
        continue;
      }
      allows(t, room.check(via(ALICE)), `v${v} ${joinRule}: authorised by a joined user who can invite`);
      refuses(t, room.check(room.member(BOB, 'join')), 'join_authorised_via_users_server is missing', `v${v} ${joinRule}: no authoriser`);
      refuses(t, room.check(via(DAVE)), `join_authorised_via_users_server ${DAVE} cannot invite`, `v${v} ${joinRule}: authoriser too weak`);
      refuses(t, room.check(via(CAROL, 'c.test')), `join_authorised_via_users_server ${CAROL} is not joined`, `v${v} ${joinRule}: authoriser not joined`);
      refuses(t, room.check(via(ALICE, 'z.test')), 'not signed by the server of join_authorised_via_users_server', `v${v} ${joinRule}: unsigned by the authoriser's server`);
      refuses(t, room.check(via('not-a-user')), 'join_authorised_via_users_server is not a user ID', `v${v} ${joinRule}: garbage`);
      room.setMember(BOB, 'invite', ALICE);
      allows(t, room.check(room.member(BOB, 'join')), `v${v} ${joinRule}: invited users join without an authoriser`);
    }
  }
  // Before v8 join_authorised_via_users_server is just content.
  const v7 = standardRoom('7', 'public');
  allows(t, v7.check(v7.member(BOB, 'join', BOB, { join_authorised_via_users_server: 'junk' })), 'v7 ignores the key');
});

t.test('invites: membership, power, target state', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'invite', { invite: 50 });
    allows(t, room.check(room.member(BOB, 'invite', ALICE)), `v${v} by a moderator`);
    refuses(t, room.check(room.member(CAROL, 'invite', BOB)), 'm.room.member invite: sender is not joined', `v${v} by a non-member`);
    room.setMember(DAVE, 'invite', ALICE);
    room.setMember(DAVE, 'join');
    refuses(t, room.check(room.member(BOB, 'invite', DAVE)), 'm.room.member invite: sender is below the invite level', `v${v} by a 0`);
    refuses(t, room.check(room.member(DAVE, 'invite', ALICE)), 'm.room.member invite: target is already joined', `v${v} joined target`);
    room.setMember(CAROL, 'ban', ALICE);
    refuses(t, room.check(room.member(CAROL, 'invite', ALICE)), 'm.room.member invite: target is banned', `v${v} banned target`);
    room.setMember(BOB, 'invite', ALICE);
    allows(t, room.check(room.member(BOB, 'invite', ALICE)), `v${v} invite again`);
  }
});

t.test('third-party invites: signed by a key of the m.room.third_party_invite', async (t) => {
  const identityKey = signingKeyFromSeed('0', new Uint8Array(32).fill(7));
  const otherKey = signingKeyFromSeed('0', new Uint8Array(32).fill(9));
  const signed = (mxid: string, token: string, key = identityKey) =>
    signJson({ mxid, token, sender: ALICE }, 'id.test', key);
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'invite', { invite: 50 });
    room.set('m.room.third_party_invite', 'tok', ALICE, {
      display_name: 'b...@example.org',
      key_validity_url: 'https://id.test/isvalid',
      public_key: encodeBase64(otherKey.publicKey),
      public_keys: [{ public_key: encodeBase64(identityKey.publicKey) }],
    });
    const invite = (thirdParty: unknown, sender = ALICE, target = BOB) =>
      room.member(target, 'invite', sender, { third_party_invite: thirdParty });

    allows(t, room.check(invite({ display_name: 'b', signed: signed(BOB, 'tok') })), `v${v} valid signature (public_keys)`);
    allows(t, room.check(invite({ signed: signed(BOB, 'tok', otherKey) })), `v${v} valid signature (public_key)`);
    const forged = { ...signed(BOB, 'tok'), mxid: BOB, token: 'tok', sender: CAROL };
    refuses(t, room.check(invite({ signed: forged })), 'no signature in signed matches', `v${v} tampered signed object`);
    const wrongKey = signJson({ mxid: BOB, token: 'tok' }, 'id.test', signingKeyFromSeed('0', new Uint8Array(32).fill(1)));
    refuses(t, room.check(invite({ signed: wrongKey })), 'no signature in signed matches', `v${v} unknown key`);
    refuses(t, room.check(invite({ signed: { mxid: BOB, token: 'tok' } })), 'no signature in signed matches', `v${v} unsigned`);
    refuses(t, room.check(invite({})), 'no signed object', `v${v} no signed`);
    refuses(t, room.check(invite({ signed: { mxid: BOB } })), 'signed has no mxid and token', `v${v} no token`);
    refuses(t, room.check(invite({ signed: signed(CAROL, 'tok') })), 'signed.mxid is not the state_key', `v${v} mxid mismatch`);
    refuses(t, room.check(invite({ signed: signed(BOB, 'nope') })), 'no m.room.third_party_invite for the token', `v${v} no invite event`);
    room.setMember(DAVE, 'join');
    refuses(t, room.check(invite({ signed: signed(BOB, 'tok') }, DAVE)), 'sender is not the sender of the m.room.third_party_invite', `v${v} another sender`);
    room.setMember(BOB, 'ban', ALICE);
    refuses(t, room.check(invite({ signed: signed(BOB, 'tok') })), '(third_party_invite): target is banned', `v${v} banned target`);
  }
});

t.test('leaving, kicking and unbanning', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', { kick: 50, ban: 60 });
    room.setMember(BOB, 'join');
    allows(t, room.check(room.member(BOB, 'leave')), `v${v} leave`);
    refuses(t, room.check(room.member(CAROL, 'leave')), "m.room.member leave: user's membership is none", `v${v} leave without being there`);
    room.setMember(CAROL, 'invite', ALICE);
    allows(t, room.check(room.member(CAROL, 'leave')), `v${v} reject an invite`);
    allows(t, room.check(room.member(CAROL, 'leave', ALICE)), `v${v} revoke an invite`);
    allows(t, room.check(room.member(BOB, 'leave', ALICE)), `v${v} kick`);
    refuses(t, room.check(room.member(ALICE, 'leave', BOB)), 'below the kick level or not above the target', `v${v} kick upwards`);
    refuses(t, room.check(room.member(BOB, 'leave', DAVE)), 'm.room.member leave: sender is not joined', `v${v} kick by a non-member`);

    const users = (levels: Record<string, number>) => (room.rules.privilegedCreators ? levels : { [ALICE]: 100, ...levels });
    room.set('m.room.power_levels', '', ALICE, { users: users({ [BOB]: 55, [DAVE]: 55 }), kick: 50, ban: 60 });
    room.setMember(DAVE, 'join');
    refuses(t, room.check(room.member(DAVE, 'leave', BOB)), 'not above the target', `v${v} kick an equal`);
    room.setMember(CAROL, 'ban', ALICE);
    refuses(t, room.check(room.member(CAROL, 'leave', BOB)), 'unban needs the ban level', `v${v} unban below the ban level`);
    allows(t, room.check(room.member(CAROL, 'leave', ALICE)), `v${v} unban`);
    refuses(t, room.check(room.member(CAROL, 'leave')), "user's membership is ban", `v${v} a banned user cannot leave`);
  }
});

t.test('bans', async (t) => {
  for (const v of ALL_VERSIONS) {
    const room = standardRoom(v, 'public', { ban: 50 });
    room.setMember(BOB, 'join');
    allows(t, room.check(room.member(BOB, 'ban', ALICE)), `v${v} ban a member`);
    allows(t, room.check(room.member(CAROL, 'ban', ALICE)), `v${v} ban a stranger`);
    refuses(t, room.check(room.member(ALICE, 'ban', BOB)), 'm.room.member ban: sender is below the ban level', `v${v} ban upwards`);
    refuses(t, room.check(room.member(BOB, 'ban', CAROL)), 'm.room.member ban: sender is not joined', `v${v} ban by a non-member`);
  }
});

t.test('v12: creators have infinite power and cannot be kicked or banned', async (t) => {
  const room = standardRoom('12', 'public', {}, { additional_creators: [BOB] });
  room.setMember(BOB, 'join');
  room.setMember(CAROL, 'join');
  room.set('m.room.power_levels', '', ALICE, { users: { [CAROL]: 1_000_000 } });
  refuses(t, room.check(room.member(ALICE, 'ban', CAROL)), 'not above the target', 'the highest listed level is below a creator');
  refuses(t, room.check(room.member(BOB, 'leave', ALICE)), 'not above the target', 'a creator cannot kick a creator');
  allows(t, room.check(room.member(CAROL, 'ban', BOB)), 'an additional creator bans anyone else');
  // v11 has no such thing: additional_creators is plain content, and Carol's million beats Alice's 100.
  const v11 = standardRoom('11', 'public', {}, { additional_creators: [BOB] });
  v11.setMember(CAROL, 'join');
  v11.set('m.room.power_levels', '', ALICE, { users: { [ALICE]: 100, [CAROL]: 1_000_000 } });
  allows(t, v11.check(v11.member(ALICE, 'ban', CAROL)), 'v11: the creator is an ordinary user');
});

t.test('unknown memberships and malformed member events', async (t) => {
  for (const v of versions(1)) {
    const room = standardRoom(v);
    refuses(t, room.check(room.member(BOB, 'dance')), 'unknown membership "dance"', `v${v}`);
    refuses(t, room.check(room.event({ type: 'm.room.member', sender: BOB, content: { membership: 'join' } })), 'm.room.member: no state_key', `v${v}`);
    refuses(t, room.check(room.event({ type: 'm.room.member', sender: BOB, stateKey: BOB, content: {} })), 'no membership in content', `v${v}`);
  }
});
