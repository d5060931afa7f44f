import t from 'tap';
import { eachEngine } from '../../helpers/database.js';
import { enc, threeUsers } from '../../helpers/directory-client.js';

t.test('user search finds room-mates and members of public rooms, not strangers', async (t) => {
  await eachEngine(t, 'user directory', async (t, db) => {
    const { alice, bob, carol } = await threeUsers(t, db);
    await bob.put(`/profile/${enc(bob.user)}/displayname`, { displayname: 'Bobby Tables' });
    await carol.put(`/profile/${enc(carol.user)}/displayname`, { displayname: 'Bobbie Carol' });
    const search = (term: string, limit?: number) =>
      alice.post('/user_directory/search', { search_term: term, ...(limit === undefined ? {} : { limit }) });

    t.same((await search('bob')).body, { results: [], limited: false }, 'strangers in private rooms are not found');
    t.same((await search('ali')).body.results.map((r: { user_id: string }) => r.user_id), [alice.user], 'the searcher finds themself');

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
