import t from 'tap';
import { createServerKeysStore } from '../../src/storage/index.js';
import type { CheckedKeyResponse } from '../../src/federation/index.js';
import { eachEngine } from '../helpers/database.js';

const answer = (validUntilTs: number, expiredTs: number | null, tag: string): CheckedKeyResponse => ({
  serverName: 'remote.test',
  validUntilTs,
  keys: [{ keyId: 'ed25519:a', key: 'AAAA', validUntilTs: expiredTs ?? validUntilTs, expiredTs }],
  json: { tag },
});

void eachEngine(t, 'a key validity is never shortened, a retired key ends at expired_ts, the newest answer is kept', async (t, db) => {
  const store = createServerKeysStore(db.sql);
  await store.saveKeyResponse(answer(2000, null, 'first'), 1);
  await store.saveKeyResponse(answer(1500, null, 'shorter'), 2);
  t.same(await store.serverKeys('remote.test'), [{ keyId: 'ed25519:a', key: 'AAAA', validUntilTs: 2000, expiredTs: null }]);
  t.same((await store.keyResponses('remote.test')).map((r) => r.json), [{ tag: 'first' }], 'a shorter-lived answer does not replace the stored one');
  await store.saveKeyResponse(answer(3000, 1800, 'retired'), 3);
  t.same(await store.serverKeys('remote.test'), [{ keyId: 'ed25519:a', key: 'AAAA', validUntilTs: 1800, expiredTs: 1800 }]);
  t.same(await store.keyResponses('remote.test'), [{ keyId: 'ed25519:a', json: { tag: 'retired' }, validUntilTs: 3000, fetchedTs: 3 }]);
  t.same(await store.keyResponses('other.test'), []);
});
