import t from 'tap';
import { DEFAULT_ROOM_VERSION, ROOM_VERSIONS, getRoomVersion, type RoomVersionRules } from '../../src/events/index.js';

const ids = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];

function rules(id: string): RoomVersionRules {
  const found = getRoomVersion(id);
  if (found === undefined) throw new Error(`room version ${id} missing`);
  return found;
}

t.test('versions 1 to 12 are known, stable and frozen', async (t) => {
  t.same([...ROOM_VERSIONS.keys()], ids);
  for (const id of ids) {
    const r = rules(id);
    t.equal(r.id, id);
    t.equal(r.stable, true);
    t.equal(r.disposition, 'stable');
    t.ok(Object.isFrozen(r), `v${id} frozen`);
  }
  t.equal(getRoomVersion('13'), undefined);
  t.equal(getRoomVersion('org.example.custom'), undefined);
  t.equal(getRoomVersion('constructor'), undefined);
});

t.test('new rooms default to version 12, as the spec recommends', async (t) => {
  t.equal(DEFAULT_ROOM_VERSION, '12');
  t.ok(getRoomVersion(DEFAULT_ROOM_VERSION));
});

/** Each flag, and the versions in which it is true (or each version's value). */
const FLAGS: Record<string, (id: number) => unknown> = {
  eventIdFormat: (v) => (v <= 2 ? 'server-generated' : v === 3 ? 'hash' : 'url-safe-hash'),
  roomIdFormat: (v) => (v >= 12 ? 'create-event-hash' : 'server-generated'),
  stateResolution: (v) => (v === 1 ? 'v1' : v >= 12 ? 'v2.1' : 'v2'),
  enforcesKeyValidityPeriod: (v) => v >= 5,
  strictCanonicalJson: (v) => v >= 6,
  keepsOriginMembershipAndPrevState: (v) => v <= 10,
  keepsAliasesContent: (v) => v <= 5,
  keepsAllowInJoinRules: (v) => v >= 8,
  keepsJoinAuthorisedViaUsersServer: (v) => v >= 9,
  keepsCreateContentWholly: (v) => v >= 11,
  keepsPowerLevelsInvite: (v) => v >= 11,
  keepsRedactsInContent: (v) => v >= 11,
  keepsSignedThirdPartyInvite: (v) => v >= 11,
  redactionsCheckedByAuth: (v) => v <= 2,
  aliasesSpecialCase: (v) => v <= 5,
  integerPowerLevels: (v) => v >= 10,
  limitNotificationsPowerLevels: (v) => v >= 6,
  knocking: (v) => v >= 7,
  restrictedJoins: (v) => v >= 8,
  knockRestrictedJoins: (v) => v >= 10,
  creatorIsSender: (v) => v >= 11,
  privilegedCreators: (v) => v >= 12,
};

t.test('each flag changes in the version the spec says', async (t) => {
  for (const id of ids) {
    const r = rules(id) as unknown as Record<string, unknown>;
    for (const [flag, expected] of Object.entries(FLAGS)) {
      t.equal(r[flag], expected(Number(id)), `v${id} ${flag}`);
    }
  }
});
