import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeBase64, signingKeyFromSeed, signJson, type SigningKey } from '../../src/crypto/index.js';
import { registerUser } from '../helpers/app.js';
import { eventually, memberOf, roomPath, testClient, type TestClient } from '../helpers/client.js';
import { startFederationPair, type FederatedServer } from '../helpers/federation-pair.js';
import { testCertificate } from '../federation/helpers.js';

/**
 * Third-party invites between two real Hearths and an identity server of the test's own (HTTPS on
 * loopback, the certificate both servers trust): an address bound to a user invites that user; an unbound
 * one leaves an m.room.third_party_invite, and binding it later (the identity server's /3pid/onbind, with
 * its signed object) turns it into the member invite, on the invitee's server or through the room's. A
 * key the identity server no longer vouches for, or a signature by another key, invites no one.
 */

interface IdentityServer {
  readonly name: string;
  readonly key: SigningKey;
  /** Addresses bound, to user ids. */
  readonly bindings: Map<string, string>;
  /** Invites stored, by address. */
  readonly invites: Map<string, Array<{ room_id: string; sender: string; token: string }>>;
  /** Public keys the identity server still holds valid. */
  readonly valid: Set<string>;
  /** Validation sessions: sid to the address the user proved they own. */
  readonly sessions: Map<string, string>;
  /** The Authorization headers of the unbind requests it had. */
  readonly unbinds: string[];
  /** The signed object of a binding, for each invite kept for the address, as onbind carries it. */
  onBind(address: string, mxid: string, key?: SigningKey): Record<string, unknown>;
}

const PEPPER = 'matrixrocks';
const ACCESS_TOKEN = 'id-server-token';

async function startIdentityServer(t: Test): Promise<IdentityServer> {
  const key = signingKeyFromSeed('0', new Uint8Array(32).fill(7));
  const bindings = new Map<string, string>();
  const invites = new Map<string, Array<{ room_id: string; sender: string; token: string }>>();
  const valid = new Set([encodeBase64(key.publicKey)]);
  const sessions = new Map<string, string>();
  const unbinds: string[] = [];
  let nextToken = 1;
  let name = '';
  const hash = (address: string, medium: string) => createHash('sha256').update(`${address} ${medium} ${PEPPER}`).digest('base64url');
  const { cert, key: tlsKey } = testCertificate();
  const server = createServer({ cert, key: tlsKey }, (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', `https://${name}`);
      const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      const answer = (status: number, json: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      const authorised = request.headers.authorization === `Bearer ${ACCESS_TOKEN}`;
      switch (url.pathname) {
        case '/_matrix/identity/v2/pubkey/isvalid':
          return answer(200, { valid: valid.has(url.searchParams.get('public_key') ?? '') });
        case '/_matrix/identity/v2/hash_details':
          return authorised ? answer(200, { lookup_pepper: PEPPER, algorithms: ['none', 'sha256'] }) : answer(401, { errcode: 'M_UNAUTHORIZED' });
        case '/_matrix/identity/v2/lookup': {
          if (!authorised) return answer(401, { errcode: 'M_UNAUTHORIZED' });
          const mappings: Record<string, string> = {};
          for (const wanted of body.addresses as string[]) {
            for (const [address, mxid] of bindings) if (hash(address, 'email') === wanted) mappings[wanted] = mxid;
          }
          return answer(200, { mappings });
        }
        case '/_matrix/identity/v2/store-invite': {
          if (!authorised) return answer(401, { errcode: 'M_UNAUTHORIZED' });
          const token = `token${nextToken++}`;
          const address = body.address as string;
          invites.set(address, [...(invites.get(address) ?? []), { room_id: body.room_id as string, sender: body.sender as string, token }]);
          const validity = `https://${name}/_matrix/identity/v2/pubkey/isvalid`;
          return answer(200, { token, display_name: 'l...@m...', public_keys: [{ public_key: encodeBase64(key.publicKey), key_validity_url: validity }] });
        }
        case '/_matrix/identity/v2/3pid/bind': {
          if (!authorised) return answer(401, { errcode: 'M_UNAUTHORIZED' });
          const address = sessions.get(body.sid as string);
          if (address === undefined || body.client_secret !== 'secret') return answer(400, { errcode: 'M_NO_VALID_SESSION' });
          bindings.set(address, body.mxid as string);
          return answer(200, signJson({ medium: 'email', address, mxid: body.mxid, not_before: 0, not_after: 4_000_000_000_000, ts: 0 }, name, key));
        }
        case '/_matrix/identity/v2/3pid/unbind': {
          unbinds.push(request.headers.authorization ?? '');
          const threepid = body.threepid as { address: string };
          if (bindings.get(threepid.address) !== body.mxid) return answer(404, { errcode: 'M_NOT_FOUND' });
          bindings.delete(threepid.address);
          return answer(200, {});
        }
        default:
          return answer(404, { errcode: 'M_UNRECOGNIZED' });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  name = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    name,
    key,
    bindings,
    invites,
    valid,
    sessions,
    unbinds,
    onBind(address, mxid, signingKey = key) {
      bindings.set(address, mxid);
      const kept = (invites.get(address) ?? []).map((invite) => ({
        medium: 'email',
        address,
        mxid,
        room_id: invite.room_id,
        sender: invite.sender,
        signed: signJson({ mxid, token: invite.token }, name, signingKey),
      }));
      return { medium: 'email', address, mxid, invites: kept };
    },
  };
}

/** An identity server's POST /3pid/onbind to a homeserver (unsigned, as identity servers send it). */
async function onBind(server: FederatedServer, payload: Record<string, unknown>) {
  const response = await server.app.inject({ method: 'POST', url: '/_matrix/federation/v1/3pid/onbind', payload });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

function thirdPartyInvite(client: TestClient, roomId: string, ids: IdentityServer, address: string) {
  return client.post(`${roomPath(roomId)}/invite`, { id_server: ids.name, id_access_token: ACCESS_TOKEN, medium: 'email', address });
}

async function stateOf(client: TestClient, roomId: string, type: string, key: string) {
  return client.get(`${roomPath(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(key)}`);
}

t.test('third-party invites', async (t) => {
  const ids = await startIdentityServer(t);
  const { a, b } = await startFederationPair(t);
  const alice = testClient(a.app, await registerUser(a.app, 'alice'));

  await t.test('an address bound to a user invites that user', async (t) => {
    const bob = testClient(a.app, await registerUser(a.app, 'bob'));
    ids.bindings.set('bob@example.org', bob.user);
    const room = await alice.createRoom({ preset: 'private_chat' });
    const res = await thirdPartyInvite(alice, room, ids, 'bob@example.org');
    t.equal(res.status, 200, JSON.stringify(res.body));
    t.equal(await memberOf(alice, room, bob.user), 'invite');
    const created = await alice.post('/createRoom', { preset: 'private_chat', invite_3pid: [{ id_server: ids.name, id_access_token: ACCESS_TOKEN, medium: 'email', address: 'bob@example.org' }] });
    t.equal(created.status, 200, JSON.stringify(created.body));
    t.equal(await memberOf(alice, created.body.room_id, bob.user), 'invite', 'createRoom invite_3pid too');
  });

  await t.test('an unbound address is invited once it is bound, and the invitee joins', async (t) => {
    const carol = testClient(a.app, await registerUser(a.app, 'carol'));
    const room = await alice.createRoom({ preset: 'private_chat', name: 'Book club' });
    t.equal((await thirdPartyInvite(alice, room, ids, 'carol@example.org')).status, 200);
    const [stored] = ids.invites.get('carol@example.org') ?? [];
    const pending = await stateOf(alice, room, 'm.room.third_party_invite', stored!.token);
    t.match(pending.body, { display_name: 'l...@m...', public_key: encodeBase64(ids.key.publicKey), key_validity_url: /pubkey\/isvalid$/ }, 'the room holds the pending invite');
    t.equal(await memberOf(alice, room, carol.user), undefined, 'no one is invited yet');

    const bound = await onBind(a, ids.onBind('carol@example.org', carol.user));
    t.equal(bound.status, 200, JSON.stringify(bound.body));
    const member = await stateOf(alice, room, 'm.room.member', carol.user);
    t.match(member.body, { membership: 'invite', third_party_invite: { display_name: 'l...@m...', signed: { mxid: carol.user, token: stored!.token } } });
    const invite = await eventually(async () => (await carol.sync()).body.rooms.invite[room]);
    const inviteState = (invite?.invite_state?.events ?? []) as Array<{ type: string; state_key: string }>;
    t.ok(inviteState.some((e) => e.type === 'm.room.member' && e.state_key === alice.user), 'the invite shows who invited');
    t.ok(inviteState.some((e) => e.type === 'm.room.name'), "and the room's name");
    // Her client still presents the signed object: being invited already, she simply joins.
    const signed = signJson({ mxid: carol.user, sender: alice.user, token: stored!.token }, ids.name, ids.key);
    const joined = await carol.post(`/join/${encodeURIComponent(room)}`, { third_party_signed: signed });
    t.equal(joined.status, 200, JSON.stringify(joined.body));
    t.equal(await memberOf(alice, room, carol.user), 'join');
  });

  await t.test('a revoked key, or a signature by another key, invites no one', async (t) => {
    const dana = testClient(a.app, await registerUser(a.app, 'dana'));
    const room = await alice.createRoom({ preset: 'private_chat' });
    t.equal((await thirdPartyInvite(alice, room, ids, 'dana@example.org')).status, 200);
    const stranger = signingKeyFromSeed('0', new Uint8Array(32).fill(9));
    const forged = await onBind(a, ids.onBind('dana@example.org', dana.user, stranger));
    t.equal(forged.status, 403, 'signed by a key the invite did not publish');
    t.match(forged.body, { errcode: 'M_FORBIDDEN' });

    ids.valid.clear();
    const revoked = await onBind(a, ids.onBind('dana@example.org', dana.user));
    t.equal(revoked.status, 403, 'the identity server no longer holds the key valid');
    t.match(revoked.body, { errcode: 'M_FORBIDDEN', error: /does not vouch/ });
    ids.valid.add(encodeBase64(ids.key.publicKey));
    t.equal(await memberOf(alice, room, dana.user), undefined, 'dana is not invited');
    t.equal((await dana.post(`/join/${encodeURIComponent(room)}`, {})).status, 403, 'and cannot join');

    // Joining with the signed object itself issues the invite first.
    const signed = signJson({ mxid: dana.user, sender: alice.user, token: ids.invites.get('dana@example.org')![0]!.token }, ids.name, ids.key);
    const joined = await dana.post(`/join/${encodeURIComponent(room)}`, { third_party_signed: signed });
    t.equal(joined.status, 200, JSON.stringify(joined.body));
    t.equal(await memberOf(alice, room, dana.user), 'join');
  });

  await t.test('a user of another server: invited through the room\'s server, or by their own when it is in the room', async (t) => {
    const erin = testClient(b.app, await registerUser(b.app, 'erin'));
    const room = await alice.createRoom({ preset: 'private_chat' });
    t.equal((await thirdPartyInvite(alice, room, ids, 'erin@example.org')).status, 200);
    // B is not in the room: it asks A (exchange_third_party_invite), which invites erin over federation.
    t.equal((await onBind(b, ids.onBind('erin@example.org', erin.user))).status, 200);
    t.equal(await memberOf(alice, room, erin.user), 'invite');
    t.ok(await eventually(async () => (await erin.sync()).body.rooms.invite[room]), 'erin sees the invite on B');
    t.equal((await erin.post(`/join/${encodeURIComponent(room)}`, {})).status, 200);

    // Now B is in the room: it issues the next invite itself, in alice's name, and A accepts it.
    const fay = testClient(b.app, await registerUser(b.app, 'fay'));
    t.equal((await thirdPartyInvite(alice, room, ids, 'fay@example.org')).status, 200);
    await eventually(async () => ((await stateOf(erin, room, 'm.room.third_party_invite', ids.invites.get('fay@example.org')![0]!.token)).status === 200 ? true : undefined));
    t.equal((await onBind(b, ids.onBind('fay@example.org', fay.user))).status, 200);
    t.equal(await eventually(async () => ((await memberOf(alice, room, fay.user)) === 'invite' ? 'invite' : undefined)), 'invite', 'A has the invite B made');
    t.equal((await fay.post(`/join/${encodeURIComponent(room)}`, {})).status, 200);
    t.equal(await eventually(async () => ((await memberOf(alice, room, fay.user)) === 'join' ? 'join' : undefined)), 'join');
  });

  await t.test('an address bound through the homeserver is unbound through it, and when the account closes', async (t) => {
    const gus = testClient(a.app, await registerUser(a.app, 'gus'));
    ids.sessions.set('sid1', 'gus@example.org');
    ids.sessions.set('sid2', 'gus@work.example.org');
    for (const sid of ['sid1', 'sid2']) {
      const bound = await gus.post('/account/3pid/bind', { id_server: ids.name, id_access_token: ACCESS_TOKEN, sid, client_secret: 'secret' });
      t.equal(bound.status, 200, JSON.stringify(bound.body));
    }
    t.equal(ids.bindings.get('gus@example.org'), gus.user, 'the identity server bound it');
    t.match((await gus.post('/account/3pid/bind', { id_server: ids.name, id_access_token: ACCESS_TOKEN, sid: 'nope', client_secret: 'secret' })).body, { errcode: 'M_UNKNOWN', error: /M_NO_VALID_SESSION/ });

    const unbound = await gus.post('/account/3pid/unbind', { medium: 'email', address: 'gus@example.org' });
    t.same(unbound.body, { id_server_unbind_result: 'success' }, 'no identity server named: the one it was bound at');
    t.notOk(ids.bindings.has('gus@example.org'));
    t.match(ids.unbinds.at(-1), new RegExp(`^X-Matrix origin="${a.serverName}",destination="${ids.name}",key="ed25519:`), 'signed by the homeserver');
    t.same((await gus.post('/account/3pid/unbind', { medium: 'email', address: 'gus@example.org' })).body, { id_server_unbind_result: 'no-support' }, 'nothing left to unbind');

    ids.bindings.set('gus@elsewhere.example.org', gus.user);
    t.same((await gus.post('/account/3pid/delete', { medium: 'email', address: 'gus@elsewhere.example.org', id_server: ids.name })).body, { id_server_unbind_result: 'success' }, 'bound out of band: unbound where named');
    t.notOk(ids.bindings.has('gus@elsewhere.example.org'));

    const closed = await gus.post('/account/deactivate', { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: gus.user }, password: 'pw' } });
    t.equal(closed.status, 200, JSON.stringify(closed.body));
    t.same(closed.body, { id_server_unbind_result: 'success' });
    t.notOk(ids.bindings.has('gus@work.example.org'), 'deactivation unbinds what is left');
  });

  await t.test('bad requests say what is wrong', async (t) => {
    const room = await alice.createRoom({ preset: 'private_chat' });
    t.match((await alice.post(`${roomPath(room)}/invite`, {})).body, { errcode: 'M_MISSING_PARAM', error: /user_id, or id_server/ });
    t.match((await alice.post(`${roomPath(room)}/invite`, { id_server: 'not a server/..', id_access_token: ACCESS_TOKEN, medium: 'email', address: 'x@example.org' })).body, { errcode: 'M_INVALID_PARAM', error: /id_server/ });
    t.match((await alice.post(`${roomPath(room)}/invite`, { id_server: ids.name, id_access_token: ACCESS_TOKEN, medium: 'pigeon', address: 'coop 7' })).body, { errcode: 'M_INVALID_PARAM', error: /medium/ });
    t.match((await alice.post(`${roomPath(room)}/invite`, { id_server: ids.name, id_access_token: 'wrong', medium: 'email', address: 'x@example.org' })).body, { errcode: 'M_FORBIDDEN', error: /refused the id_access_token/ });
    t.match((await alice.post('/account/3pid/unbind', { medium: 'fax', address: '555' })).body, { errcode: 'M_INVALID_PARAM', error: /medium/ });
    t.match((await alice.post('/account/3pid/bind', { id_server: ids.name, id_access_token: ACCESS_TOKEN, sid: 's', client_secret: 'no spaces allowed' })).body, { errcode: 'M_BAD_JSON' });
    t.match(await onBind(a, { medium: 'email', address: 'x@example.org', mxid: '@someone:elsewhere.example' }), { status: 400, body: { errcode: 'M_INVALID_PARAM' } });
  });
});
