import t from 'tap';
import { stateKey, type StateMap } from '../../src/events/index.js';
import { createDestinationFinder, type DestinationReads } from '../../src/federation/sender-destinations.js';
import type { StoredEvent, TimelineEvent } from '../../src/rooms/index.js';
import { fakeEvent } from '../helpers/room-events.js';

const ROOM = '!room:me.example';

/** A room where member events are made on the fly: `member('@u:x', 'join')` is the id of one. */
function world() {
  const events = new Map<string, StoredEvent>();
  const states = new Map<string, { before: StateMap; after: StateMap }>();
  let n = 0;
  const member = (userId: string, membership: string) => {
    const id = `$m${n++}`;
    const event = fakeEvent({ id, roomId: ROOM, type: 'm.room.member', stateKey: userId, sender: userId, content: { membership } });
    events.set(id, { event, roomVersion: '10', streamPosition: n, outlier: false, rejectedReason: null, softFailed: false });
    return id;
  };
  const state = (...ids: string[]): StateMap => new Map(ids.map((id) => [stateKey('m.room.member', events.get(id)!.event.stateKey!), id]));
  /** An event with the given state before it; the state after it adds the event when it is a member event. */
  const at = (id: string, before: StateMap): TimelineEvent => {
    const stored = events.get(id)!;
    const after = new Map(before).set(stateKey('m.room.member', stored.event.stateKey!), id);
    states.set(id, { before, after });
    return { ...stored, streamPosition: stored.streamPosition! };
  };
  const reads: DestinationReads = {
    stateBefore: async (id) => states.get(id)?.before,
    stateAfter: async (id) => states.get(id)?.after,
    currentState: async () => new Map(),
    events: async (ids) => new Map(ids.flatMap((id) => (events.has(id) ? [[id, events.get(id)!] as const] : []))),
  };
  return { member, state, at, finder: createDestinationFinder(reads, 'me.example') };
}

t.test('an event goes to the servers joined before or after it, never to this one', async (t) => {
  const { member, state, at, finder } = world();
  const joined = state(member('@me:me.example', 'join'), member('@a:a.example', 'join'), member('@b:b.example', 'join'));
  t.same(await finder.destinationsOf(at(member('@new:c.example', 'join'), joined)), ['a.example', 'b.example', 'c.example'], 'a joining server gets its join');
  const kicked = at(member('@a:a.example', 'leave'), joined);
  t.same(await finder.destinationsOf(kicked), ['a.example', 'b.example'], 'a kicked member\'s server hears of it');
});

t.test('an invite to a server outside the room goes by /invite only; its withdrawal goes to that server', async (t) => {
  const { member, state, at, finder } = world();
  const me = member('@me:me.example', 'join');
  const b = member('@b:b.example', 'join');
  const invite = member('@x:x.example', 'invite');
  t.same(await finder.destinationsOf(at(invite, state(me, b))), ['b.example'], 'not to x.example: /invite took it there');
  t.same(await finder.destinationsOf(at(member('@x:x.example', 'leave'), state(me, b, invite))), ['b.example', 'x.example'], 'a withdrawn invite');
  const knock = member('@k:k.example', 'knock');
  t.same(await finder.destinationsOf(at(member('@k:k.example', 'leave'), state(me, knock))), ['k.example'], 'a refused knock');
  t.same(await finder.destinationsOf(at(member('@z:z.example', 'ban'), state(me))), [], 'a ban of a stranger goes nowhere');
});
