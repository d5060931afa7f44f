import t from 'tap';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createPushSender, type PushSenderStore, type PusherRecord } from '../../src/push/index.js';
import type { TimelineEvent } from '../../src/rooms/index.js';

/** The push sender over a store of plain data, a gateway that answers as the test says, and manual timers. */

const ROOM = '!room:here.test';
const ALICE = '@alice:here.test';
const BOB = '@bob:here.test';

const pusher = (pushkey: string): PusherRecord => ({
  userId: ALICE as PusherRecord['userId'], deviceId: 'PHONE', kind: 'http', appId: 'app', pushkey, appDisplayName: 'App',
  deviceDisplayName: 'Phone', profileTag: null, lang: 'en', data: { url: 'https://push.example/_matrix/push/v1/notify' }, createdTs: 1_000,
});

const message = (position: number, sender = BOB): TimelineEvent => ({
  event: { eventId: `$e${position}`, roomId: ROOM, type: 'm.room.message', sender, stateKey: undefined, origin: undefined, redacts: undefined, content: { msgtype: 'm.text', body: `hello ${position}` }, originServerTs: position, depth: position, prevEvents: [], authEvents: [], pdu: {} as never },
  roomVersion: '10', outlier: false, rejectedReason: null, softFailed: false, streamPosition: position,
});

function world(options: { pushers: PusherRecord[]; events: TimelineEvent[]; start?: number }) {
  const state = { position: options.start ?? 0, reads: 0, writes: [] as number[], deleted: [] as string[], pushers: [...options.pushers] };
  const store: PushSenderStore = {
    async position() { return state.position; },
    async setPosition(position) { state.writes.push(position); state.position = position; },
    async eventsAfter(position, limit) { state.reads++; return options.events.filter((e) => e.streamPosition > position).slice(0, limit); },
    async anyPushers() { return state.pushers.length > 0; },
    async roomPushers() { return new Map(state.pushers.length > 0 ? [[ALICE, state.pushers]] : []); },
    async userPushers() { return state.pushers; },
    async deletePusher(_userId, _appId, pushkey) { state.pushers = state.pushers.filter((p) => p.pushkey !== pushkey); state.deleted.push(pushkey); return true; },
    async roomFacts() { return { memberCount: 2, displayNames: new Map([[ALICE, 'alice']]), powerLevels: undefined, roomName: 'Room', roomAlias: undefined, senderDisplayName: 'bob' }; },
    async pushRules() { return new Map(); },
  };
  const posts: Array<{ url: string; body: Record<string, any> }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any -- notification JSON, read by key
  let answer: () => { status: number; rejected: string[] } = () => ({ status: 200, rejected: [] });
  const timers: Array<{ ms: number; fn: () => void }> = [];
  const clock = fixedClock(10_000);
  const sender = createPushSender({
    store,
    post: async (url, body) => {
      posts.push({ url, body });
      return answer();
    },
    serverName: 'here.test',
    clock,
    scheduler: { after: (ms, fn) => { const timer = { ms, fn }; timers.push(timer); return () => void timers.splice(timers.indexOf(timer), 1); } },
    log: silentLogger(),
  });
  return { state, sender, posts, timers, clock, answerWith: (fn: typeof answer) => void (answer = fn) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

t.test('events of a one-to-one room reach the gateway, one notification per pusher', async (t) => {
  const w = world({ pushers: [pusher('k1'), pusher('k2')], events: [message(1), message(2, ALICE)] });
  await w.sender.start();
  await settle();
  t.equal(w.posts.length, 2, 'one notification per pusher, and none for alice\'s own message');
  t.match(w.posts[0]!.body, { notification: { event_id: '$e1', room_id: ROOM, counts: { unread: 1 }, room_name: 'Room', sender_display_name: 'bob', content: { body: 'hello 1' } } });
  t.same(w.posts.map((p) => p.body.notification.devices[0].pushkey), ['k1', 'k2']);
  t.same(w.posts[0]!.body.notification.devices[0].tweaks, { sound: 'default' }, 'the one-to-one rule\'s sound');
});

t.test('a failed delivery is tried again later; a rejected pushkey loses its pusher', async (t) => {
  const events = [message(1)];
  const w = world({ pushers: [pusher('k1')], events });
  let calls = 0;
  w.answerWith(() => (++calls === 1 ? { status: 503, rejected: [] } : { status: 200, rejected: ['k1'] }));
  await w.sender.start();
  await settle();
  t.equal(w.posts.length, 1);
  t.same(w.timers.map((timer) => timer.ms), [1_000], 'tried again in a second');
  w.timers.shift()!.fn();
  await settle();
  t.equal(w.posts.length, 2, 'and sent again');
  t.same(w.state.deleted, ['k1'], 'the gateway rejected the pushkey: the pusher is removed');
});

t.test('with no pusher anywhere, events are passed over unread and the position kept', async (t) => {
  const w = world({ pushers: [], events: [message(1), message(2)], start: 0 });
  await w.sender.start();
  const caughtUp = w.state.reads;
  w.sender.eventsAdvanced(5);
  w.sender.eventsAdvanced(6);
  await settle();
  t.equal(w.state.reads, caughtUp, 'the events the stream announces are not read');
  t.equal(w.posts.length, 0);
  await w.sender.standDown();
  t.same(w.state.writes.at(-1), 6, 'standing down writes the position reached');
});

t.test('the position is written every few seconds, and a restart goes on from it', async (t) => {
  const events = [message(1)];
  const w = world({ pushers: [pusher('k1')], events });
  await w.sender.start();
  await settle();
  t.same(w.state.writes, [], 'not after every event');
  events.push(message(2));
  w.clock.advance(3_000);
  w.sender.eventsAdvanced(2);
  await settle();
  t.same(w.state.writes, [2], 'once a few seconds have passed');
  const again = world({ pushers: [pusher('k1')], events: [message(1), message(2), message(3)], start: 2 });
  await again.sender.start();
  await settle();
  t.same(again.posts.map((p) => p.body.notification.event_id), ['$e3'], 'a restart pushes what came after the kept position');
});
