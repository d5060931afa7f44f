import t from 'tap';
import { encodeBase64, signableJson, signBytes, signingKeyFromSeed } from '../../src/crypto/index.js';
import {
  getRoomVersion,
  hasPolicySignature,
  needsPolicySignature,
  policyServerOf,
  redactEvent,
  signEvent,
  withPolicySignature,
  type PduJson,
} from '../../src/events/index.js';

const rules = getRoomVersion('11')!;
const policyKey = signingKeyFromSeed('policy_server', new Uint8Array(32).fill(7));
const originKey = signingKeyFromSeed('auto', new Uint8Array(32).fill(8));
const content = { via: 'policy.example', public_keys: { ed25519: encodeBase64(policyKey.publicKey) } };

const message: PduJson = signEvent({
  type: 'm.room.message',
  room_id: '!room:origin.example',
  sender: '@alice:origin.example',
  origin_server_ts: 1_700_000_000_000,
  depth: 5,
  prev_events: ['$prev'],
  auth_events: ['$create'],
  content: { msgtype: 'm.text', body: 'hello' },
}, 'origin.example', originKey, rules);

/** What a policy server answers: its signature of the redacted event, with the fixed key id. */
function signedByPolicyServer(pdu: PduJson, server = 'policy.example') {
  return { [server]: { 'ed25519:policy_server': encodeBase64(signBytes(policyKey, signableJson(redactEvent(pdu, rules)))) } };
}

t.test('which m.room.policy contents name a policy server', async (t) => {
  t.match(policyServerOf(content), { via: 'policy.example' });
  t.same(policyServerOf(content)?.publicKey, policyKey.publicKey);
  t.equal(policyServerOf(undefined), undefined, 'no state event: no policy server');
  t.equal(policyServerOf({}), undefined, 'emptied: none');
  t.equal(policyServerOf({ via: 'policy.example' }), undefined, 'no keys');
  t.equal(policyServerOf({ via: 'policy.example', public_keys: {} }), undefined, 'no ed25519 key');
  t.equal(policyServerOf({ via: 'policy.example', public_keys: { ed25519: 'not base64!' } }), undefined, 'a key that is not base64');
  t.equal(policyServerOf({ via: 'policy.example', public_keys: { ed25519: encodeBase64(new Uint8Array(5)) } }), undefined, 'a key of the wrong size');
  t.equal(policyServerOf({ via: 'not a server', public_keys: content.public_keys }), undefined, 'a via that is no server name');
  t.equal(policyServerOf({ via: 42, public_keys: content.public_keys }), undefined);
});

t.test('what the policy server checks', async (t) => {
  t.notOk(needsPolicySignature({ type: 'm.room.policy', stateKey: '' }), 'not the state event that configures it');
  t.ok(needsPolicySignature({ type: 'm.room.policy', stateKey: 'other' }), 'one with another state key is checked');
  t.ok(needsPolicySignature({ type: 'm.room.policy', stateKey: undefined }), 'and a non-state one');
  t.ok(needsPolicySignature({ type: 'm.room.member', stateKey: '@a:b.c' }), 'memberships are checked');
  t.ok(needsPolicySignature({ type: 'm.room.message', stateKey: undefined }));
});

t.test('the policy server\'s signature', async (t) => {
  const server = policyServerOf(content)!;
  t.notOk(hasPolicySignature(message, server, rules), 'an event it has not signed');
  const signed = withPolicySignature(message, server, signedByPolicyServer(message))!;
  t.ok(hasPolicySignature(signed, server, rules), 'its answer added makes the event check');
  t.same((signed.signatures as Record<string, unknown>)['origin.example'], (message.signatures as Record<string, unknown>)['origin.example'],
    'the origin\'s signature stays');
  t.ok(hasPolicySignature({ ...signed, content: { body: 'changed' } }, server, rules),
    'like any event signature it covers the redacted form (the content hash covers the content)');
  t.notOk(hasPolicySignature({ ...signed, sender: '@mallory:origin.example' }, server, rules), 'a changed event no longer checks');

  const sameName = policyServerOf({ ...content, via: 'origin.example' })!;
  const both = withPolicySignature(message, sameName, signedByPolicyServer(message, 'origin.example'))!;
  t.same(Object.keys((both.signatures as Record<string, Record<string, string>>)['origin.example']!).sort(), ['ed25519:auto', 'ed25519:policy_server'],
    'a policy server named like the origin keeps the origin\'s own signature beside its own');

  t.equal(withPolicySignature(message, server, {}), undefined, 'an answer without its signature');
  t.equal(withPolicySignature(message, server, { 'policy.example': { 'ed25519:other': 'x' } }), undefined);
  t.equal(withPolicySignature(message, server, 'nonsense'), undefined);
  const forged = withPolicySignature(message, server, { 'policy.example': { 'ed25519:policy_server': encodeBase64(new Uint8Array(64)) } })!;
  t.notOk(hasPolicySignature(forged, server, rules), 'a signature that does not verify');
});
