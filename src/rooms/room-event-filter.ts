import type { Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { RoomEvent } from '../events/index.js';
import { RoomEventFilter as RoomEventFilterSchema } from '../protocol/endpoints/filters.js';
import { MatrixError } from '../protocol/index.js';

/**
 * The RoomEventFilter of /messages and /context (client-server API, "Filtering"), given inline as JSON in
 * the `filter` query parameter. Parsed once per request into a test per event. Pure.
 */

const checkFilter = TypeCompiler.Compile(RoomEventFilterSchema);

export interface RoomEventFilter {
  matches(event: Pick<RoomEvent, 'type' | 'sender' | 'content'>): boolean;
  /** Send the member events of the events' senders alongside (lazy-loading members). */
  readonly lazyLoadMembers: boolean;
  readonly limit: number | undefined;
}

/** A type pattern: '*' matches any run of characters, nothing else is special. */
function typeTest(patterns: readonly string[]): (type: string) => boolean {
  const tests = patterns.map((pattern) => {
    if (!pattern.includes('*')) return (type: string) => type === pattern;
    const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return (type: string) => regex.test(type);
  });
  return (type) => tests.some((test) => test(type));
}

export const NO_FILTER: RoomEventFilter = { matches: () => true, lazyLoadMembers: false, limit: undefined };

/** The `filter` query parameter: undefined for none; M_INVALID_PARAM for anything but a RoomEventFilter. */
export function parseRoomEventFilter(text: string | undefined): RoomEventFilter {
  if (text === undefined || text === '') return NO_FILTER;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 'filter must be a RoomEventFilter as JSON (filter ids are not accepted here)');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !checkFilter.Check(json)) {
    const first = checkFilter.Errors(json).First();
    throw new MatrixError('M_INVALID_PARAM', `The filter is not a valid RoomEventFilter${first ? `: ${first.path || '/'} ${first.message}` : ''}`);
  }
  const filter = json as Static<typeof RoomEventFilterSchema>;
  return { lazyLoadMembers: filter.lazy_load_members === true, limit: filter.limit, matches: eventMatcher(filter) };
}

/** The event-selecting fields a filter may hold (EventFilter and RoomEventFilter share them). */
export interface EventSelection {
  readonly types?: readonly string[] | undefined;
  readonly not_types?: readonly string[] | undefined;
  readonly senders?: readonly string[] | undefined;
  readonly not_senders?: readonly string[] | undefined;
  readonly contains_url?: boolean | undefined;
}

/** The test an event must pass: type patterns, senders and contains_url, as the spec's filters define them. */
export function eventMatcher(filter: EventSelection): RoomEventFilter['matches'] {
  const types = filter.types && typeTest(filter.types);
  const notTypes = filter.not_types && typeTest(filter.not_types);
  const senders = filter.senders && new Set(filter.senders);
  const notSenders = new Set(filter.not_senders ?? []);
  const containsUrl = filter.contains_url;
  return (event) =>
    (types === undefined || types(event.type)) &&
    !(notTypes?.(event.type) ?? false) &&
    (senders === undefined || senders.has(event.sender)) &&
    !notSenders.has(event.sender) &&
    (containsUrl === undefined || (typeof event.content.url === 'string') === containsUrl);
}
