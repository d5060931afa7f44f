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

/** Paths split once: push rules name the same few paths for every event they are evaluated against. */
const splitPaths = new Map<string, readonly string[]>();
const SPLIT_PATHS_LIMIT = 1000;

/** The value at a property path of the event; ABSENT when any step is missing or not an object. */
export function propertyAt(event: unknown, path: string): unknown {
  let names = splitPaths.get(path);
  if (names === undefined) {
    if (splitPaths.size >= SPLIT_PATHS_LIMIT) splitPaths.clear();
    names = splitPropertyPath(path);
    splitPaths.set(path, names);
  }
  let value: unknown = event;
  for (const name of names) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return ABSENT;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

/** Characters outside [A-Za-z0-9_] are word boundaries, as the spec defines them. */
const BOUNDARY = '[^A-Za-z0-9_]';

/** Compiled patterns, one cache per kind of match, keyed by the glob or text itself. */
const CACHE_LIMIT = 1000;
const wholeGlobs = new Map<string, RegExp>();
const wordGlobs = new Map<string, RegExp>();
const wordTexts = new Map<string, RegExp>();

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

/**
 * The cached regex for the pattern; `source` builds its regex source only when it is not cached yet. Push
 * rules are evaluated for every event and member: no key or closure is built per call.
 */
function compiled(cache: Map<string, RegExp>, pattern: string, source: (pattern: string) => string): RegExp {
  let regex = cache.get(pattern);
  if (regex === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    regex = new RegExp(source(pattern), 'ius');
    cache.set(pattern, regex);
  }
  return regex;
}

const wholeSource = (glob: string) => `^${globSource(glob)}$`;
const wordsSource = (glob: string) => `(?:^|${BOUNDARY})${globSource(glob)}(?:${BOUNDARY}|$)`;
const textSource = (text: string) => {
  const literal = [...text].map((char) => char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('');
  return `(?:^|${BOUNDARY})${literal}(?:${BOUNDARY}|$)`;
};

/** Whether the glob matches the whole value, case-insensitively. */
export function globMatches(glob: string, value: string): boolean {
  return compiled(wholeGlobs, glob, wholeSource).test(value);
}

/** Whether the glob matches a substring of the value that starts and ends at a word boundary. */
export function globMatchesWords(glob: string, value: string): boolean {
  return compiled(wordGlobs, glob, wordsSource).test(value);
}

/** Whether the literal text occurs in the value between word boundaries (display name mentions). */
export function textMatchesWords(text: string, value: string): boolean {
  return compiled(wordTexts, text, textSource).test(value);
}
