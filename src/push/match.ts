/**
 * The matching primitives of push conditions, pure: dot-separated property paths with their escapes,
 * and case-insensitive globs (whole value, or at word boundaries for content.body).
 */

/** A property that is absent, told apart from one whose value is null. */
export const ABSENT: unique symbol = Symbol('absent');

/**
 * Splits a dot-separated property path: `\.` is a literal dot and `\\` a literal backslash; any other
 * backslash is kept as it is (appendices, "Dot-separated property paths").
 */
export function splitPropertyPath(path: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i];
    const next = path[i + 1];
    if (char === '\\' && (next === '.' || next === '\\')) {
      current += next;
      i++;
    } else if (char === '.') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/** The value at a property path of the event; ABSENT when any step is missing or not an object. */
export function propertyAt(event: unknown, path: string): unknown {
  let value: unknown = event;
  for (const name of splitPropertyPath(path)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return ABSENT;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

/** Characters outside [A-Za-z0-9_] are word boundaries, as the spec defines them. */
const BOUNDARY = '[^A-Za-z0-9_]';

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

/** `*` matches any run of characters, `?` exactly one; everything else is literal. */
function globSource(glob: string): string {
  let source = '';
  let previous = '';
  for (const char of glob) {
    // A run of * means what one does, and would only make the regex backtrack more.
    if (char === '*' && previous !== '*') source += '.*';
    else if (char === '*') continue;
    else if (char === '?') source += '.';
    else source += char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    previous = char;
  }
  return source;
}

/** The cached regex for the key; `source` builds its pattern only when it is not cached yet. */
function compiled(key: string, source: () => string): RegExp {
  let regex = cache.get(key);
  if (regex === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    regex = new RegExp(source(), 'ius');
    cache.set(key, regex);
  }
  return regex;
}

/** Whether the glob matches the whole value, case-insensitively. */
export function globMatches(glob: string, value: string): boolean {
  return compiled(`whole:${glob}`, () => `^${globSource(glob)}$`).test(value);
}

/** Whether the glob matches a substring of the value that starts and ends at a word boundary. */
export function globMatchesWords(glob: string, value: string): boolean {
  return compiled(`words:${glob}`, () => `(?:^|${BOUNDARY})${globSource(glob)}(?:${BOUNDARY}|$)`).test(value);
}

/** Whether the literal text occurs in the value between word boundaries (display name mentions). */
export function textMatchesWords(text: string, value: string): boolean {
  return compiled(`text:${text}`, () => {
    const literal = [...text].map((char) => char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('');
    return `(?:^|${BOUNDARY})${literal}(?:${BOUNDARY}|$)`;
  }).test(value);
}
