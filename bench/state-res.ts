/**
 * State resolution on a big room: 10,000 members, two forks with 1,000 conflicting state events between
 * them (power level changes, topics, member changes: renames, leaves, kicks, bans). Resolved with v2
 * (room version 10) and v2.1 (room version 12, same shape of room), against a raw baseline doing the
 * nearest job without the algorithm: merge the two maps naively, then run checkAuth once over the
 * conflicted events in map order against the merged state. The goal is the absolute time: under 1 s.
 */
import { performance } from 'node:perf_hooks';
import {
  checkAuth,
  getRoomVersion,
  stateKey,
  stateKeyOf,
  type RoomEvent,
  type RoomVersionRules,
  type StateKey,
} from '../src/events/index.js';
import { resolveState, type ResolutionInput } from '../src/state/index.js';
import { compare, printHeader } from './lib/measure.js';

const MEMBERS = 10_000;
const CONFLICTING_PER_FORK = 500;
const MODERATORS = 40;
const GOAL_MS = 1000;

const user = (i: number): string => `@user${i}:server${i % 50}.example`;
const mod = (i: number): string => user(i); // users 1..MODERATORS have power 50, user 0 has 100

interface Room {
  readonly events: Map<string, RoomEvent>;
  readonly forks: [Map<StateKey, string>, Map<StateKey, string>];
}

/** Builds the room: every event cites the auth events the selection rules name, from its fork's state. */
function buildRoom(rules: RoomVersionRules): Room {
  const events = new Map<string, RoomEvent>();
  const v12 = rules.privilegedCreators;
  let n = 0;
  let createId = '';
  const send = (
    state: Map<StateKey, string>,
    type: string,
    sender: string,
    content: Record<string, unknown>,
    key: string,
  ): RoomEvent => {
    n++;
    const eventId = `$e${n}`;
    const authKeys = [stateKey('m.room.power_levels', ''), stateKey('m.room.member', sender)];
    if (!v12) authKeys.unshift(stateKey('m.room.create', ''));
    if (type === 'm.room.member') {
      authKeys.push(stateKey('m.room.member', key));
      if (content.membership === 'join') authKeys.push(stateKey('m.room.join_rules', ''));
    }
    const authEvents = [...new Set(authKeys.map((k) => state.get(k)).filter((id) => id !== undefined))];
    const event: RoomEvent = {
      eventId,
      roomId: type === 'm.room.create' ? '!e1' : '!' + createId.slice(1),
      type,
      stateKey: key,
      sender,
      origin: undefined,
      content,
      originServerTs: 1_700_000_000_000 + n,
      depth: n,
      prevEvents: [],
      authEvents: type === 'm.room.create' ? [] : authEvents,
      redacts: undefined,
      pdu: {},
    };
    events.set(eventId, event);
    state.set(stateKeyOf(event) as StateKey, eventId);
    return event;
  };

  const base = new Map<StateKey, string>();
  const creator = '@creator:server0.example';
  createId = send(base, 'm.room.create', creator, { creator, room_version: rules.id }, '').eventId;
  send(base, 'm.room.member', creator, { membership: 'join' }, creator);
  const users: Record<string, number> = { [user(0)]: 100 };
  for (let i = 1; i <= MODERATORS; i++) users[mod(i)] = 50;
  if (!v12) users[creator] = 100;
  const levels = { users, state_default: 50, ban: 50, kick: 50, events: { 'm.room.topic': 25 } };
  send(base, 'm.room.join_rules', creator, { join_rule: 'public' }, '');
  send(base, 'm.room.power_levels', creator, levels, '');
  for (let i = 0; i < MEMBERS; i++) {
    send(base, 'm.room.member', user(i), { membership: 'join', displayname: `User ${i}` }, user(i));
  }
  send(base, 'm.room.topic', user(0), { topic: 'the big room' }, '');

  const forks: [Map<StateKey, string>, Map<StateKey, string>] = [new Map(base), new Map(base)];
  // Interleave the forks so that timestamps mix, as concurrent activity does.
  for (let i = 0; i < CONFLICTING_PER_FORK; i++) {
    for (const [f, state] of forks.entries()) {
      const admin = f === 0 ? user(0) : mod(1);
      const slot = i % 20;
      if (slot === 0) {
        // Power level changes: fork 0's admin moves moderators; fork 1's moderator changes a user's level.
        const changed = { ...users, [user(MODERATORS + 1 + i)]: f === 0 ? 10 : 20 };
        if (f === 0) changed[mod(2 + (i % (MODERATORS - 1)))] = 0;
        send(state, 'm.room.power_levels', admin, { ...levels, users: changed }, '');
      } else if (slot < 5) {
        send(state, 'm.room.topic', mod(1 + ((i + f) % MODERATORS)), { topic: `topic ${f}/${i}` }, '');
      } else {
        const target = user(MODERATORS + 100 + f * 2000 + i * 3);
        const renamed = { membership: 'join', displayname: `Renamed ${f}/${i}` };
        if (slot < 12) send(state, 'm.room.member', target, renamed, target);
        else if (slot < 15) send(state, 'm.room.member', target, { membership: 'leave' }, target);
        else send(state, 'm.room.member', mod(1 + (i % MODERATORS)), { membership: f === 0 ? 'leave' : 'ban' }, target);
      }
    }
  }
  return { events, forks };
}

/** The raw job: union the maps (first fork wins), then one checkAuth pass over the conflicted events. */
function naiveMerge(input: ResolutionInput): Map<StateKey, string> {
  const [first, second] = input.stateSets;
  const merged = new Map(second);
  const conflicted: string[] = [];
  for (const [key, id] of first ?? []) {
    const other = merged.get(key);
    if (other !== undefined && other !== id) conflicted.push(id, other);
    merged.set(key, id);
  }
  for (const id of conflicted) {
    const event = input.events(id);
    if (event === undefined) continue;
    const lookup = (type: string, key: string): RoomEvent | undefined => {
      const found = merged.get(stateKey(type, key));
      return found === undefined ? undefined : input.events(found);
    };
    if (checkAuth(event, lookup, input.rules).allowed) merged.set(stateKeyOf(event) as StateKey, id);
  }
  return merged;
}

export default async function run(): Promise<void> {
  console.log(`node ${process.version}; ${MEMBERS} members, ${2 * CONFLICTING_PER_FORK} conflicting state events`);
  const results: string[] = [];
  for (const version of ['10', '12']) {
    const rules = getRoomVersion(version);
    if (rules === undefined) throw new Error(`room version ${version} missing`);
    const built = performance.now();
    const room = buildRoom(rules);
    const input: ResolutionInput = { rules, stateSets: room.forks, events: (id) => room.events.get(id) };
    const buildMs = performance.now() - built;

    const coldStart = performance.now();
    const resolved = resolveState(input);
    const coldMs = performance.now() - coldStart;
    const [a, b] = room.forks;
    const keys = [...a.keys()].filter((key) => b.get(key) !== a.get(key));
    const from = { first: 0, second: 0 };
    for (const key of keys) {
      if (resolved.get(key) === a.get(key)) from.first++;
      else if (resolved.get(key) === b.get(key)) from.second++;
    }
    console.log(
      `v${version} (${rules.stateResolution}): ${room.events.size} events (built in ${buildMs.toFixed(0)} ms); ` +
        `${keys.length} conflicted keys, ${2 * keys.length} conflicted events; ${from.first} keys resolved to ` +
        `the first fork, ${from.second} to the second, ${keys.length - from.first - from.second} to neither; ` +
        `first call ${coldMs.toFixed(0)} ms`,
    );
    printHeader();
    const c = compare(`resolveState ${rules.stateResolution} vs naive merge+auth`, () => resolveState(input), () =>
      naiveMerge(input),
    3000);
    const ms = 1000 / c.ours;
    results.push(
      `${rules.stateResolution}: ${ms.toFixed(0)} ms per resolution warm, ${coldMs.toFixed(0)} ms cold ` +
        `(baseline ${(1000 / c.raw).toFixed(0)} ms, ${c.ratio.toFixed(2)}x); ` +
        `goal under ${GOAL_MS} ms: ${Math.max(ms, coldMs) < GOAL_MS ? 'met' : 'MISSED'}`,
    );
  }
  for (const line of results) console.log(line);
}
