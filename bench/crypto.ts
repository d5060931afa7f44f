/**
 * Crypto hot paths against the raw platform doing the nearest job: canonical JSON vs JSON.stringify, and
 * signing, verifying and event ids vs JSON.stringify plus node:crypto with a pre-imported key. The gap is
 * the price of canonical form (sorting, validation), redaction and content hashes.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import {
  canonicalJsonBytes,
  decodeBase64,
  encodeCanonicalJson,
  signJson,
  signingKeyFromSeed,
  verifyJsonSignature,
} from '../src/crypto/index.js';
import { eventIdFor, getRoomVersion, signEvent, verifyEventSignature, type PduJson } from '../src/events/index.js';
import { compare, printHeader } from './lib/measure.js';

const GOAL_SIGN_EVENT_RATIO = 1.5;

/** A ~1 KB m.room.message PDU as our event builder would make it: fields in insertion order, not sorted. */
function sampleEvent(): PduJson {
  return {
    type: 'm.room.message',
    room_id: '!OGEhHVWSdvArJzumhm:matrix.org',
    sender: '@alice.example:matrix.org',
    origin_server_ts: 1732866123456,
    depth: 184223,
    content: {
      msgtype: 'm.text',
      body: 'Grüße aus Zürich! Das Treffen ist um 15:00 — bitte pünktlich 🙂 Привет, 你好, こんにちは.\n> quoted "line"',
      format: 'org.matrix.custom.html',
      formatted_body:
        '<p>Grüße aus Zürich! Das Treffen ist um <b>15:00</b> — bitte pünktlich 🙂</p><p>Привет, 你好, こんにちは.</p>',
      'm.mentions': { user_ids: ['@bob:example.org'] },
      'm.relates_to': { 'm.in_reply_to': { event_id: '$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg' } },
    },
    prev_events: ['$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o', '$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg'],
    auth_events: [
      '$urlsafe_base64_encoded_eventid_create_000000000',
      '$urlsafe_base64_encoded_eventid_power_levels_0000',
      '$urlsafe_base64_encoded_eventid_member_alice_00000',
      '$urlsafe_base64_encoded_eventid_join_rules_00000000',
    ],
    hashes: { sha256: 'ThisHashCoversAllFieldsInCaseThisIsRedacted00000' },
    signatures: {
      'matrix.org': {
        'ed25519:a_RXGa': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw',
      },
    },
    unsigned: { age_ts: 1732866123456 },
  };
}

export default async function run(): Promise<void> {
  const rules = getRoomVersion('12');
  if (rules === undefined) throw new Error('room version 12 missing');
  const seed = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
  const key = signingKeyFromSeed('1', seed);
  const rawPrivate = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const rawPublic = createPublicKey(rawPrivate);

  const event = sampleEvent();
  const eventBytes = Buffer.byteLength(JSON.stringify(event));
  const signed = signEvent(event, 'example.org', key, rules);
  const signedJson = signJson(event, 'example.org', key);
  const rawSignature = sign(null, Buffer.from(JSON.stringify(event)), rawPrivate);

  console.log(`node ${process.version}; sample m.room.message PDU: ${eventBytes} bytes as JSON; ~1 s per figure`);
  printHeader();
  compare('canonical JSON vs JSON.stringify', () => encodeCanonicalJson(event), () => JSON.stringify(event));
  compare('canonical bytes vs Buffer(stringify)', () => canonicalJsonBytes(event), () =>
    Buffer.from(JSON.stringify(event)),
  );
  compare('signJson vs stringify+sign', () => signJson(event, 'example.org', key), () =>
    sign(null, Buffer.from(JSON.stringify(event)), rawPrivate),
  );
  const signing = compare('signEvent vs stringify+sign', () => signEvent(event, 'example.org', key, rules), () =>
    sign(null, Buffer.from(JSON.stringify(event)), rawPrivate),
  );
  compare('verifyJsonSignature vs stringify+verify', () =>
    verifyJsonSignature(signedJson, 'example.org', 'ed25519:1', key.publicKey), () =>
    verify(null, Buffer.from(JSON.stringify(event)), rawPublic, rawSignature),
  );
  compare('verifyEventSignature vs stringify+verify', () =>
    verifyEventSignature(signed, 'example.org', 'ed25519:1', key.publicKey, rules), () =>
    verify(null, Buffer.from(JSON.stringify(event)), rawPublic, rawSignature),
  );
  compare('eventIdFor vs stringify+sha256+b64url', () => eventIdFor(signed, rules), () =>
    '$' + createHash('sha256').update(JSON.stringify(signed)).digest('base64url'),
  );

  const met = signing.ratio <= GOAL_SIGN_EVENT_RATIO;
  console.log(
    `goal: signEvent within ${GOAL_SIGN_EVENT_RATIO}x of JSON.stringify + sign: ${signing.ratio.toFixed(2)}x, ${met ? 'met' : 'MISSED'}`,
  );
}
