import t from 'tap';
import { encodeBase64, encodeCanonicalJson, sha256 } from '../../src/crypto/index.js';
import {
  checkContentHash,
  computeContentHash,
  computeReferenceHash,
  redactEvent,
  withContentHash,
} from '../../src/events/index.js';
import { MESSAGE_EVENT, MESSAGE_EVENT_SIGNED, MINIMAL_EVENT, MINIMAL_EVENT_SIGNED } from './fixtures/appendices.js';
import { SYNAPSE_CREATE_EVENT } from './fixtures/interop.js';
import { rules, parse } from '../helpers/events.js';


t.test('content hashes of the appendix event signing vectors', async (t) => {
  t.equal(computeContentHash(parse(MINIMAL_EVENT)), '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos');
  t.equal(computeContentHash(parse(MESSAGE_EVENT)), 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g');
  t.ok(checkContentHash(parse(MINIMAL_EVENT_SIGNED)));
  t.ok(checkContentHash(parse(MESSAGE_EVENT_SIGNED)));
});

t.test('a Synapse-made event passes our content hash check', async (t) => {
  t.ok(checkContentHash(parse(SYNAPSE_CREATE_EVENT)));
});

t.test('the content hash ignores unsigned, signatures and existing hashes, and covers the rest', async (t) => {
  const event = parse(MESSAGE_EVENT);
  const hash = computeContentHash(event);
  t.equal(computeContentHash({ ...event, unsigned: { age: 1 }, signatures: { x: {} }, hashes: { sha256: 'x' } }), hash);
  t.not(computeContentHash({ ...event, content: { body: 'Here is the message content!' } }), hash);
  t.not(computeContentHash({ ...event, origin_server_ts: 1000001 }), hash);
});

t.test('withContentHash sets hashes.sha256 on a new event', async (t) => {
  const event = parse(MINIMAL_EVENT);
  const hashed = withContentHash(event);
  t.strictSame(hashed.hashes, { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' });
  t.strictSame(event.hashes, {}, 'input untouched');
  t.ok(checkContentHash(hashed));
});

t.test('checkContentHash is false, never throws, on mismatch or junk', async (t) => {
  const hashed = withContentHash(parse(MESSAGE_EVENT));
  t.notOk(checkContentHash({ ...hashed, content: { body: 'edited' } }), 'content changed');
  t.notOk(checkContentHash(redactEvent(hashed, rules('10'))), 'a redacted copy');
  t.notOk(checkContentHash({ ...hashed, hashes: undefined }), 'no hashes');
  t.notOk(checkContentHash({ ...hashed, hashes: { sha256: 5 } }), 'hash not a string');
  t.notOk(checkContentHash({ ...hashed, hashes: { sha256: '!!' } }), 'hash not base64');
  t.notOk(checkContentHash({ ...hashed, depth: 1.5 }), 'not canonical JSON');
  const claimed = (hashed.hashes as { sha256: string }).sha256;
  t.ok(checkContentHash({ ...hashed, hashes: { sha256: `${claimed}=` } }), 'a padded hash is read too');
});

t.test('the reference hash is sha256 of the redacted event without signatures and unsigned', async (t) => {
  const event = parse(MESSAGE_EVENT_SIGNED);
  for (const v of ['1', '10', '11']) {
    const { signatures: _s, unsigned: _u, ...rest } = redactEvent(event, rules(v));
    t.equal(encodeBase64(computeReferenceHash(event, rules(v))), encodeBase64(sha256(encodeCanonicalJson(rest))), `v${v}`);
  }
  const ref = encodeBase64(computeReferenceHash(event, rules('10')));
  t.equal(encodeBase64(computeReferenceHash({ ...event, content: {} }, rules('10'))), ref, 'redacted content is not covered');
  t.equal(encodeBase64(computeReferenceHash({ ...event, signatures: {}, unsigned: {} }, rules('10'))), ref);
  t.not(encodeBase64(computeReferenceHash({ ...event, hashes: { sha256: 'x' } }, rules('10'))), ref, 'hashes are covered');
  t.not(encodeBase64(computeReferenceHash({ ...event, sender: '@v:domain' }, rules('10'))), ref);
  t.not(encodeBase64(computeReferenceHash(event, rules('11'))), ref, 'v11 no longer covers origin');
});
