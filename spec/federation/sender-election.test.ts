import t from 'tap';
import { electFederationSender, type RoleLock } from '../../src/federation/index.js';
import { silentLogger } from '../../src/platform/logger.js';
import { manualScheduler } from '../helpers/ephemeral.js';

/** A lock whose holder the test decides. */
function fakeLock() {
  const state = { free: true, ours: false, released: 0 };
  const lock: RoleLock = {
    async tryAcquire() {
      if (state.ours) return true;
      if (!state.free) return false;
      state.free = false;
      state.ours = true;
      return true;
    },
    async held() {
      return state.ours;
    },
    async release() {
      state.ours = false;
      state.free = true;
      state.released++;
    },
  };
  return { lock, state };
}

function fakeSender() {
  const calls: string[] = [];
  return { calls, sender: { start: async () => void calls.push('start'), standDown: async () => void calls.push('standDown') } };
}

t.test('the process that gets the lock sends; it stands down when it loses it and sends again when it is back', async (t) => {
  const { lock, state } = fakeLock();
  const { calls, sender } = fakeSender();
  const scheduler = manualScheduler();
  const election = electFederationSender({ lock, sender, scheduler, log: silentLogger(), checkEveryMs: 1_000 });
  await election.settled();
  t.ok(election.leading);
  t.same(calls, ['start']);

  scheduler.fireAll();
  await election.settled();
  t.same(calls, ['start'], 'still held: nothing changes');

  state.ours = false; // the connection holding the lock broke
  scheduler.fireAll();
  await election.settled();
  t.notOk(election.leading);
  t.same(calls, ['start', 'standDown'], 'lost: it stops sending');

  scheduler.fireAll();
  await election.settled();
  t.same(calls, ['start', 'standDown'], 'another process holds it now');

  state.free = true; // that process went away
  scheduler.fireAll();
  await election.settled();
  t.ok(election.leading);
  t.same(calls, ['start', 'standDown', 'start'], 'taken over again');

  await election.stop();
  t.equal(state.released, 1, 'stopping gives the role up');
  t.equal(scheduler.pending(), 0, 'and tries no more');
});

t.test('a process that never gets the lock never sends', async (t) => {
  const { lock, state } = fakeLock();
  state.free = false;
  const { calls, sender } = fakeSender();
  const scheduler = manualScheduler();
  const election = electFederationSender({ lock, sender, scheduler, log: silentLogger() });
  for (let i = 0; i < 3; i++) {
    await election.settled();
    scheduler.fireAll();
  }
  await election.settled();
  t.notOk(election.leading);
  t.same(calls, []);
  await election.stop();
  t.equal(state.released, 0, 'nothing to give up');
});

t.test('a failing check is tried again at the next round', async (t) => {
  let fail = true;
  const lock: RoleLock = {
    tryAcquire: async () => {
      if (fail) throw new Error('database away');
      return true;
    },
    held: async () => true,
    release: async () => undefined,
  };
  const { calls, sender } = fakeSender();
  const scheduler = manualScheduler();
  const election = electFederationSender({ lock, sender, scheduler, log: silentLogger() });
  await election.settled();
  t.same(calls, []);
  fail = false;
  scheduler.fireAll();
  await election.settled();
  t.same(calls, ['start']);
  await election.stop();
});
