import t from 'tap';
import {
  EventIdError,
  eventIdFor,
  eventIdOf,
  signEvent,
} from '../../src/events/index.js';
import { decodeBase64, signingKeyFromSeed } from '../../src/crypto/index.js';
import { SIGNING_KEY_SEED_BASE64 } from '../crypto/fixtures/appendices.js';
import { MESSAGE_EVENT_SIGNED } from './fixtures/appendices.js';
import { SYNAPSE_CREATE_EVENT, SYNAPSE_CREATE_EVENT_ID_V3, SYNAPSE_CREATE_EVENT_ID_V4 } from './fixtures/interop.js';
import { rules, parse } from '../helpers/events.js';


t.test('v3 ids are $ + base64 of the reference hash; v4 on are URL-safe', async (t) => {
  const event = parse(SYNAPSE_CREATE_EVENT);
  t.equal(eventIdFor(event, rules('3')), SYNAPSE_CREATE_EVENT_ID_V3);
  for (const v of ['4', '5']) t.equal(eventIdFor(event, rules(v)), SYNAPSE_CREATE_EVENT_ID_V4, `v${v}`);
  t.equal(eventIdOf(event, rules('3')), SYNAPSE_CREATE_EVENT_ID_V3);
});

t.test('ids from v4 on never contain + or /', async (t) => {
  const key = signingKeyFromSeed('1', decodeBase64(SIGNING_KEY_SEED_BASE64));
  for (const v of ['4', '9', '11', '12']) {
    for (let depth = 1; depth <= 40; depth++) {
      const event = signEvent(
        { type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', depth, content: {}, origin_server_ts: 1 },
        'domain',
        key,
        rules(v),
      );
      const id = eventIdFor(event, rules(v));
      t.match(id, /^\$[A-Za-z0-9_-]{43}$/, `v${v} depth ${depth}`);
    }
  }
});

t.test('the id does not depend on signatures, unsigned or redactable content', async (t) => {
  const event = parse(SYNAPSE_CREATE_EVENT);
  const r = rules('4');
  t.equal(eventIdFor({ ...event, signatures: {}, unsigned: { age: 1 } }, r), SYNAPSE_CREATE_EVENT_ID_V4);
  const message = { ...event, type: 'm.room.message', content: { body: 'a' } };
  t.equal(eventIdFor({ ...message, content: { body: 'b' } }, r), eventIdFor(message, r));
  t.not(eventIdFor({ ...event, depth: 2 }, r), SYNAPSE_CREATE_EVENT_ID_V4);
});

t.test('v1 and v2 ids are the event_id field, never computed', async (t) => {
  const event = parse(MESSAGE_EVENT_SIGNED);
  for (const v of ['1', '2']) {
    t.equal(eventIdOf(event, rules(v)), '$0:domain');
    t.throws(() => eventIdFor(event, rules(v)), EventIdError);
    const { event_id: _id, ...withoutId } = event;
    t.throws(() => eventIdOf(withoutId, rules(v)), EventIdError);
    t.throws(() => eventIdOf({ ...event, event_id: 5 }, rules(v)), EventIdError);
  }
});
