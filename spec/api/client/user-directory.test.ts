import t from 'tap';
import { eachEngine } from '../../helpers/database.js';
import { enc, threeUsers } from '../../helpers/directory-client.js';
import { roomPath } from '../../helpers/client.js';
import { REMOTE, remoteMembership, roomWorld } from '../../helpers/rooms.js';

t.test('user search finds room-mates and members of public rooms, not strangers', async (t) => {
  await eachEngine(t, 'user directory', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    await bob.put(`/profile/${enc(bob.user)}/displayname`, { displayname: 'Bobby Tables' });
    await carol.put(`/profile/${enc(carol.user)}/displayname`, { displayname: 'Bobbie Carol' });
    const search = (term: string, limit?: number) =>
      alice.post('/user_directory/search', { search_term: term, ...(limit === undefined ? {} : { limit }) });

    t.same((await search('bob')).body, { results: [], limited: false }, 'strangers in private rooms are not found');
    t.same((await search('ali')).body.results, [], 'the searcher is not found while in no public room');

    const roomId = await alice.createRoom({ invite: [bob.user] });
    await bob.post(`/join/${enc(roomId)}`);
    t.same((await search('tables')).body, {
      results: [{ user_id: bob.user, display_name: 'Bobby Tables' }],
      limited: false,
    }, 'a room-mate is found by display name');
    t.same((await search('BOB')).body.results.map((r: { user_id: string }) => r.user_id), [bob.user], 'case-insensitively, by user id too');

    await carol.createRoom({ preset: 'public_chat' });
    const both = await search('bobb');
    t.same(both.body.results.map((r: { user_id: string }) => r.user_id).sort(), [bob.user, carol.user].sort(),
      'a member of a public room is found');
    const one = await search('bobb', 1);
    t.equal(one.body.results.length, 1);
    t.equal(one.body.limited, true, 'limited when more matched');
    t.same((await search('%')).body.results, [], 'LIKE wildcards are matched literally');
    t.same((await alice.post('/user_directory/search', {})).body.errcode, 'M_BAD_JSON', 'search_term is required');
  });
});

t.test('users leave the directory when they leave its last open room or the room turns private', async (t) => {
  await eachEngine(t, 'user directory', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    await bob.put(`/profile/${enc(bob.user)}/displayname`, { displayname: 'Bobby Tables' });
    const ids = async (who: typeof carol) =>
      (await who.post('/user_directory/search', { search_term: 'tables' })).body.results.map((r: { user_id: string }) => r.user_id);
    const setState = async (roomId: string, type: string, content: Record<string, unknown>) => {
      const res = await alice.put(`${roomPath(roomId)}/state/${type}`, content);
      t.equal(res.status, 200, `${type} set`);
    };

    const open = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${enc(open)}`);
    t.same(await ids(carol), [bob.user], 'a stranger finds a member of a public room');
    t.same(await ids(bob), [bob.user], 'and so does the member, about themself');
    await bob.post(`${roomPath(open)}/leave`);
    t.same(await ids(carol), [], 'gone for a stranger once they left');
    t.same(await ids(bob), [], 'gone for themself too');

    const closed = await alice.createRoom({ preset: 'private_chat', invite: [bob.user] });
    await bob.post(`/join/${enc(closed)}`);
    t.same(await ids(carol), [], 'a private room does not list its members');
    t.same(await ids(bob), [], 'not even to themself');
    t.same(await ids(alice), [bob.user], 'but room-mates see each other');

    await setState(closed, 'm.room.join_rules', { join_rule: 'public' });
    t.same(await ids(carol), [bob.user], 'listed once the join rule is public');
    await setState(closed, 'm.room.history_visibility', { history_visibility: 'world_readable' });
    await setState(closed, 'm.room.join_rules', { join_rule: 'invite' });
    t.same(await ids(carol), [bob.user], 'still listed while history is world_readable');
    await setState(closed, 'm.room.history_visibility', { history_visibility: 'shared' });
    t.same(await ids(carol), [], 'unlisted once the room is neither joinable nor world_readable');
    t.same(await ids(alice), [bob.user], 'room-mates still see each other');
  });
});

t.test('remote members are found by their member event, until the last local member leaves the room', async (t) => {
  await eachEngine(t, 'user directory', async (t, db) => {
    const { alice, carol } = await threeUsers(t, db);
    const world = roomWorld(t, db);
    const ringo = `@ringo:${REMOTE}`;
    const search = async (term: string) => (await carol.post('/user_directory/search', { search_term: term })).body.results;

    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await remoteMembership(world, roomId, ringo, 'join', 1_700_000_100_000, { displayname: 'Ringo Starr', avatar_url: 'mxc://remote.test/ringo' });
    t.same(await search('starr'), [{ user_id: ringo, display_name: 'Ringo Starr', avatar_url: 'mxc://remote.test/ringo' }],
      'a remote member of a public room is found by the display name of their join');
    t.same((await search('RINGO')).map((r: { user_id: string }) => r.user_id), [ringo], 'and by user id');

    await remoteMembership(world, roomId, ringo, 'join', 1_700_000_200_000, { displayname: 'Richard Starkey' });
    t.same(await search('starkey'), [{ user_id: ringo, display_name: 'Richard Starkey' }], 'a new join event renames them');
    t.same(await search('starr'), [], 'the old name no longer matches');

    await alice.post(`${roomPath(roomId)}/leave`);
    t.same(await search('ringo'), [], 'gone once the server has left the room, though its last state lists them joined');
  });
});
