import t from 'tap';
import { encodeBase64 } from '../../src/crypto/index.js';
import { registerUser } from '../helpers/app.js';
import { eventually, roomPath, testClient } from '../helpers/client.js';
import { startFederatedServer } from '../helpers/federation-pair.js';

/**
 * Policy servers across two real Hearths: a room of A names B as its policy server, and B has a joined
 * user there, so A must have B sign every event before sending it. Hearth is not a policy server, so B
 * answers /_matrix/policy/v1/sign with M_UNRECOGNIZED: A's sends fail, and nothing of them reaches B,
 * until a room admin empties m.room.policy (never itself checked).
 */

const texts = (events: Array<{ type: string; content: { body?: string } }> | undefined) =>
  (events ?? []).filter((event) => event.type === 'm.room.message').map((event) => event.content.body);

t.test('a room whose policy server will not sign', async (t) => {
  const [a, b] = await Promise.all([startFederatedServer(t), startFederatedServer(t)]);
  const alice = testClient(a.app, await registerUser(a.app, 'alice'));
  const bob = testClient(b.app, await registerUser(b.app, 'bob'));
  const room = await alice.createRoom({ preset: 'public_chat' });
  t.equal((await bob.post(`/join/${encodeURIComponent(room)}?server_name=${encodeURIComponent(a.serverName)}`)).status, 200);
  t.equal((await alice.send(room, 'before the policy server', 'm0')).status, 200);

  const policy = { via: b.serverName, public_keys: { ed25519: encodeBase64(new Uint8Array(32).fill(3)) } };
  t.equal((await alice.put(`${roomPath(room)}/state/m.room.policy`, policy)).status, 200, 'the m.room.policy event is sent unchecked');

  const refused = await alice.send(room, 'while B is the policy server', 'm1');
  t.equal(refused.status, 502, JSON.stringify(refused.body));
  t.equal(refused.body.errcode, 'M_UNKNOWN');
  t.match(refused.body.error, new RegExp(`policy server ${b.serverName.replace(/\./g, '\\.')} could not be asked`), 'the error names the policy server');
  const known = await eventually(async () => ((await bob.get(`${roomPath(room)}/state/m.room.policy`)).body.via === b.serverName ? true : undefined));
  t.ok(known, 'B has the m.room.policy event');
  const bobsOwn = await bob.send(room, 'from B', 'b1');
  t.equal(bobsOwn.status, 502, `B asks itself too, and cannot sign either: ${JSON.stringify(bobsOwn.body)}`);

  t.equal((await alice.put(`${roomPath(room)}/state/m.room.policy`, {})).status, 200, 'an admin empties m.room.policy');
  t.equal((await alice.send(room, 'after the policy server', 'm2')).status, 200, 'and the room uses no policy server');
  const seen = await eventually(async () => {
    const body = (await bob.get(`${roomPath(room)}/messages?dir=b&limit=20`)).body;
    const said = texts(body.chunk);
    return said.includes('after the policy server') ? said : undefined;
  });
  t.ok(seen, 'B receives what A sends afterwards');
  t.notOk(seen?.includes('while B is the policy server'), 'and never what its policy server did not sign');
});
