import t from 'tap';
import { eachEngine } from '../helpers/database.js';
import { rejectsWith } from '../helpers/errors.js';
import { createKeyBackupService, MEGOLM_BACKUP_V1, replacesStoredKey, type RoomKeyData } from '../../src/e2ee/index.js';
import { createKeyBackupStore, type Database } from '../../src/storage/index.js';
import type { UserId } from '../../src/protocol/index.js';

/** Key backups: the spec's rule for which of two keys to keep (pure), and the service on real storage (both engines). */

const key = (isVerified: boolean, firstMessageIndex: number, forwardedCount: number, tag = 'x'): RoomKeyData => ({
  isVerified,
  firstMessageIndex,
  forwardedCount,
  sessionData: { ciphertext: tag },
});

t.test('a stored key is replaced only by a better one, in the spec\'s order of criteria', async (t) => {
  const cases: Array<[string, RoomKeyData, RoomKeyData, boolean]> = [
    ['verified beats unverified', key(false, 0, 0), key(true, 5, 5), true],
    ['unverified never beats verified, even from an earlier index', key(true, 5, 5), key(false, 0, 0), false],
    ['an earlier first message index wins', key(false, 5, 0), key(false, 2, 9), true],
    ['a later first message index loses, even forwarded less', key(false, 2, 9), key(false, 5, 0), false],
    ['equal index: fewer forwards win', key(true, 3, 2), key(true, 3, 1), true],
    ['equal index: more forwards lose', key(true, 3, 1), key(true, 3, 2), false],
    ['a tie keeps the stored key', key(true, 3, 1, 'old'), key(true, 3, 1, 'new'), false],
  ];
  for (const [label, stored, candidate, expected] of cases) t.equal(replacesStoredKey(stored, candidate), expected, label);
});

const ALICE = '@alice:hearth.test' as UserId;
const BOB = '@bob:hearth.test' as UserId;
const ROOM = '!room:hearth.test';

async function backupService(db: Database) {
  for (const userId of [ALICE, BOB]) await db.sql`insert into users (user_id, created_ts) values (${userId}, 0)`;
  return createKeyBackupService({ store: createKeyBackupStore(db.sql) });
}

const upload = (sessionId: string, data: RoomKeyData, roomId = ROOM) => ({ roomId, sessionId, ...data });

void eachEngine(t, 'versions count up per user and are never reused after a delete', async (t, db) => {
  const backup = await backupService(db);
  await rejectsWith(t, backup.version(ALICE), 'M_NOT_FOUND', /No current backup version/);
  t.equal(await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, { public_key: 'a1' }), '1');
  t.equal(await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, { public_key: 'a2' }), '2');
  t.equal(await backup.createVersion(BOB, MEGOLM_BACKUP_V1, { public_key: 'b1' }), '1', 'each user counts from 1');
  t.match(await backup.version(ALICE), { version: '2', authData: { public_key: 'a2' } }, 'the newest is current');

  await backup.deleteVersion(ALICE, '2');
  t.match(await backup.version(ALICE), { version: '1' }, 'the newest left is current again');
  t.equal(await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, { public_key: 'a3' }), '3', 'the deleted number is not given out again');
  await t.resolves(backup.deleteVersion(ALICE, '2'), 'deleting a deleted version again is no error');
  t.match(await backup.version(ALICE), { version: '3' }, '... and changes nothing');
  await rejectsWith(t, backup.deleteVersion(ALICE, '9'), 'M_NOT_FOUND', /Unknown backup version/);
  await rejectsWith(t, backup.version(ALICE, '2'), 'M_NOT_FOUND');
  await rejectsWith(t, backup.version(ALICE, 'not-a-number'), 'M_NOT_FOUND');
  await rejectsWith(t, backup.version(BOB, '3'), 'M_NOT_FOUND', undefined, 'another user\'s version is not found');
});

void eachEngine(t, 'versions created at once all get their own number', async (t, db) => {
  const backup = await backupService(db);
  const versions = await Promise.all([1, 2, 3, 4, 5].map(() => backup.createVersion(ALICE, MEGOLM_BACKUP_V1, {})));
  t.same([...versions].sort(), ['1', '2', '3', '4', '5']);
});

void eachEngine(t, 'uploads keep the better key; the etag moves only when a key is written', async (t, db) => {
  const backup = await backupService(db);
  const version = await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, {});
  const first = await backup.putKeys(ALICE, version, [upload('s1', key(false, 5, 1, 'first')), upload('s2', key(false, 0, 0))]);
  t.equal(first.count, 2);

  const worse = await backup.putKeys(ALICE, version, [upload('s1', key(false, 7, 0, 'worse'))]);
  t.same(worse, first, 'a worse key changes nothing, not even the etag');
  t.match(await backup.key(ALICE, version, ROOM, 's1'), { sessionData: { ciphertext: 'first' } });

  const better = await backup.putKeys(ALICE, version, [upload('s1', key(true, 9, 3, 'verified'))]);
  t.equal(better.count, 2);
  t.not(better.etag, first.etag, 'a better key moves the etag');
  t.same(await backup.key(ALICE, version, ROOM, 's1'), upload('s1', key(true, 9, 3, 'verified')));

  const mixed = await backup.putKeys(ALICE, version, [upload('s1', key(false, 0, 0, 'unverified')), upload('s3', key(false, 0, 0), '!other:hearth.test')]);
  t.equal(mixed.count, 3, 'the new session is added in the same upload that keeps s1');
  t.match(await backup.key(ALICE, version, ROOM, 's1'), { sessionData: { ciphertext: 'verified' } });
  t.same((await backup.keys(ALICE, version)).map((k) => [k.roomId, k.sessionId]), [['!other:hearth.test', 's3'], [ROOM, 's1'], [ROOM, 's2']]);
  t.same((await backup.keys(ALICE, version, { roomId: ROOM })).map((k) => k.sessionId), ['s1', 's2']);
});

void eachEngine(t, 'uploads at once of one session end with the best key', async (t, db) => {
  const backup = await backupService(db);
  const version = await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, {});
  const indexes = [7, 3, 9, 0, 5, 8, 1, 6, 2, 4];
  const results = await Promise.all(indexes.map((index) => backup.putKeys(ALICE, version, [upload('s', key(false, index, 0, `i${index}`))])));
  t.ok(results.every((result) => result.count === 1));
  t.match(await backup.key(ALICE, version, ROOM, 's'), { firstMessageIndex: 0, sessionData: { ciphertext: 'i0' } });
  const etags = new Set(results.map((result) => result.etag));
  t.equal((await backup.version(ALICE, version)).etag, String(Math.max(...[...etags].map(Number))), 'the etag counted every write');
});

void eachEngine(t, 'uploads go to the current version only, and nothing is written otherwise', async (t, db) => {
  const backup = await backupService(db);
  await rejectsWith(t, backup.putKeys(ALICE, '1', [upload('s1', key(false, 0, 0))]), 'M_NOT_FOUND', /No current backup version/);
  const old = await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, {});
  await backup.putKeys(ALICE, old, [upload('s1', key(false, 0, 0))]);
  const current = await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, {});

  const stale = await backup.putKeys(ALICE, old, [upload('s2', key(false, 0, 0))]).then(() => undefined, (err: unknown) => err);
  t.match(stale, { errcode: 'M_WRONG_ROOM_KEYS_VERSION', status: 403, extra: { current_version: current } });
  await rejectsWith(t, backup.putKeys(ALICE, 'junk', []), 'M_WRONG_ROOM_KEYS_VERSION');
  t.same((await backup.keys(ALICE, old)).map((k) => k.sessionId), ['s1'], 'the stale upload wrote nothing');
  t.match(await backup.version(ALICE, current), { count: 0, etag: '0' });
  await rejectsWith(t, backup.putKeys(ALICE, undefined, []), 'M_MISSING_PARAM');
  await rejectsWith(t, backup.putKeys(ALICE, current, [upload('s1', key(false, 0, 0), 'room-without-sigil')]), 'M_INVALID_PARAM');
  await rejectsWith(t, backup.putKeys(ALICE, current, [upload('', key(false, 0, 0))]), 'M_INVALID_PARAM');
  t.match(await backup.version(ALICE, current), { count: 0, etag: '0' }, 'a refused upload writes none of its keys');
});

void eachEngine(t, 'deleting keys and versions', async (t, db) => {
  const backup = await backupService(db);
  const version = await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, {});
  const other = '!other:hearth.test';
  const stored = await backup.putKeys(ALICE, version, [upload('a', key(false, 0, 0)), upload('b', key(false, 0, 0)), upload('c', key(false, 0, 0), other)]);

  const none = await backup.deleteKeys(ALICE, version, { roomId: ROOM, sessionId: 'missing' });
  t.same(none, stored, 'deleting nothing keeps the etag');
  const one = await backup.deleteKeys(ALICE, version, { roomId: ROOM, sessionId: 'a' });
  t.equal(one.count, 2);
  t.not(one.etag, stored.etag);
  const room = await backup.deleteKeys(ALICE, version, { roomId: ROOM });
  t.equal(room.count, 1);
  t.equal((await backup.deleteKeys(ALICE, version)).count, 0);

  await backup.putKeys(ALICE, version, [upload('d', key(false, 0, 0))]);
  await backup.deleteVersion(ALICE, version);
  await rejectsWith(t, backup.keys(ALICE, version), 'M_NOT_FOUND', /Unknown backup version/);
  await rejectsWith(t, backup.deleteKeys(ALICE, version), 'M_NOT_FOUND');
  const [left] = await db.sql<{ count: number }[]>`select count(*) as count from key_backup_keys where user_id = ${ALICE}`;
  t.equal(left?.count, 0, 'the deleted version\'s keys are gone from storage');
});

void eachEngine(t, 'auth_data is updated in place; the algorithm and version must match', async (t, db) => {
  const backup = await backupService(db);
  const version = await backup.createVersion(ALICE, MEGOLM_BACKUP_V1, { public_key: 'old' });
  await backup.putKeys(ALICE, version, [upload('s', key(false, 0, 0))]);
  const before = await backup.version(ALICE, version);

  await backup.updateVersion(ALICE, version, { algorithm: MEGOLM_BACKUP_V1, authData: { public_key: 'old', signatures: {} }, version });
  const after = await backup.version(ALICE, version);
  t.same(after.authData, { public_key: 'old', signatures: {} });
  t.same([after.count, after.etag], [before.count, before.etag], 'keys, count and etag are untouched');

  await rejectsWith(t, backup.updateVersion(ALICE, version, { algorithm: 'm.other', authData: {} }), 'M_INVALID_PARAM', /Algorithm does not match/);
  await rejectsWith(t, backup.updateVersion(ALICE, version, { algorithm: MEGOLM_BACKUP_V1, authData: {}, version: '7' }), 'M_INVALID_PARAM', /does not match/);
  await rejectsWith(t, backup.updateVersion(ALICE, '7', { algorithm: MEGOLM_BACKUP_V1, authData: {} }), 'M_NOT_FOUND');
  t.same((await backup.version(ALICE, version)).authData, { public_key: 'old', signatures: {} }, 'refused updates changed nothing');
});
