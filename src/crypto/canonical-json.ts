/**
 * Matrix canonical JSON (appendices, "Canonical JSON"): the one byte encoding that every signature and
 * hash in Matrix is computed over. Keys sorted by Unicode code point, no insignificant whitespace,
 * integers only in [-(2^53)+1, 2^53-1], strings escaped only where the grammar requires it.
 *
 * This runs for every event we sign, hash or verify, so the encoder has a fast path that builds the
 * output in one pass and knows nothing about paths; only when it meets something it cannot encode does
 * a second, slow walk find where the problem is and name it.
 */

/** Thrown when a value has no canonical JSON form. `path` names the offending field, e.g. `content.body`. */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`${path === '' ? '(root)' : path}: ${reason}`);
    this.path = path;
  }
}

/** Deep enough for any real event; stops cycles and hostile nesting before the stack does. */
const MAX_DEPTH = 1000;

/** Any character that stops a string from being emitted as-is between quotes. */
const NEEDS_CARE = /[\u0000-\u001f"\\\ud800-\udfff]/;
const SURROGATE = /[\ud800-\udfff]/;

/** The fast path throws this bare marker; the public entry points turn it into a named error. */
const INVALID: unique symbol = Symbol('invalid canonical JSON');

interface WellFormedCheck {
  isWellFormed(): boolean;
}

/** `String.prototype.isWellFormed` (ES2024, in Node 20) is not in the ES2023 lib this project targets. */
function isWellFormed(s: string): boolean {
  return (s as unknown as WellFormedCheck).isWellFormed();
}

/** True for objects made by `{}` / JSON.parse / Object.create(null): the only objects JSON can hold. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Orders two well-formed strings by Unicode code point. Plain `<` compares UTF-16 code units, which puts
 * astral characters (surrogate pairs, D800-DFFF) before U+E000..U+FFFF; shifting the surrogates above
 * that block gives code point order while still comparing one unit at a time.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

function encodeString(s: string): string {
  if (!NEEDS_CARE.test(s)) return '"' + s + '"';
  if (!isWellFormed(s)) throw INVALID;
  // For a well-formed string, JSON.stringify escapes exactly what the canonical grammar escapes: `"`, `\`,
  // \b \t \n \f \r, and the other C0 controls as lowercase \u00xx (ECMA-262 QuoteJSONString); nothing else.
  return JSON.stringify(s);
}

/** Set for the duration of one encodeCanonicalJsonWithout(..., { floats: 'allow' }) call (encoding is synchronous). */
let floatsAllowed = false;

function encodeValue(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      // isSafeInteger admits exactly [-(2^53)+1, 2^53-1]; -0 passes and prints as "0".
      if (!Number.isSafeInteger(value)) {
        if (floatsAllowed && Number.isFinite(value)) return JSON.stringify(value);
        throw INVALID;
      }
      return '' + value;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) throw INVALID;
      if (Array.isArray(value)) return encodeArray(value, depth + 1);
      if (!isPlainObject(value)) throw INVALID;
      return encodeObject(value, Object.keys(value), depth + 1);
    default:
      throw INVALID;
  }
}

function encodeArray(array: readonly unknown[], depth: number): string {
  const n = array.length;
  if (n === 0) return '[]';
  let out = '[' + encodeValue(array[0], depth);
  for (let i = 1; i < n; i++) out += ',' + encodeValue(array[i], depth);
  return out + ']';
}

/** `keys` are the object's own keys to emit (the caller may have left some out); they are sorted here. */
function encodeObject(object: Record<string, unknown>, keys: string[], depth: number): string {
  const n = keys.length;
  if (n === 0) return '{}';
  let keysNeedCare = false;
  let astral = false;
  for (let i = 0; i < n; i++) {
    const key = keys[i] as string;
    if (NEEDS_CARE.test(key)) {
      keysNeedCare = true;
      if (SURROGATE.test(key)) {
        if (!isWellFormed(key)) throw INVALID;
        astral = true;
      }
    }
  }
  if (astral) {
    keys.sort(compareCodePoints);
  } else {
    // Objects often arrive already sorted (anything parsed from canonical JSON), so check before sorting.
    for (let i = 1; i < n; i++) {
      if ((keys[i - 1] as string) > (keys[i] as string)) {
        keys.sort();
        break;
      }
    }
  }
  let out = '{';
  for (let i = 0; i < n; i++) {
    const key = keys[i] as string;
    if (i !== 0) out += ',';
    out += keysNeedCare ? encodeString(key) : '"' + key + '"';
    out += ':' + encodeValue(object[key], depth);
  }
  return out + '}';
}

/**
 * Encodes a JSON value as Matrix canonical JSON. Throws CanonicalJsonError naming the first field that
 * cannot be encoded: a float, NaN or Infinity, an integer outside the safe range, a string or key with a
 * lone surrogate, undefined, a function, bigint or symbol, or an object that is neither plain nor an array.
 * Symbol-keyed and non-enumerable properties are not JSON and are ignored, as JSON.stringify does.
 */
export function encodeCanonicalJson(value: unknown): string {
  try {
    return encodeValue(value, 0);
  } catch (err) {
    if (err === INVALID) throw locateProblem(value, undefined);
    throw err;
  }
}

/**
 * Encodes a plain object as canonical JSON with some top-level keys left out, without copying it. This is
 * what signing and hashing need ("the object without `signatures` and `unsigned`") on the hot path.
 *
 * `floats: 'allow'` encodes numbers outside canonical JSON's integers as JSON.stringify does instead of
 * refusing them. Only for checking what another server signed over a body that is not canonical JSON
 * (a request whose content holds a float, which the endpoint then refuses as M_BAD_JSON); never for
 * anything Hearth signs, hashes or stores.
 */
export function encodeCanonicalJsonWithout(object: object, omitKeys: readonly string[], options: { readonly floats?: 'allow' } = {}): string {
  if (!isPlainObject(object)) throw new CanonicalJsonError('', 'expected a plain object');
  floatsAllowed = options.floats === 'allow';
  try {
    return encodeObject(object, ownKeysWithout(object, omitKeys), 1);
  } catch (err) {
    if (err === INVALID) throw locateProblem(object, omitKeys);
    throw err;
  } finally {
    floatsAllowed = false;
  }
}

/** The canonical JSON of `value` as UTF-8 bytes, ready to hash or sign. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(encodeCanonicalJson(value), 'utf8');
}

function ownKeysWithout(object: object, omitKeys: readonly string[]): string[] {
  const keys = Object.keys(object);
  if (omitKeys.length === 0) return keys;
  const kept: string[] = [];
  for (const key of keys) if (!omitKeys.includes(key)) kept.push(key);
  return kept;
}

// ---- the slow path: find and name the problem --------------------------------------------------------

interface Problem {
  readonly path: string;
  readonly reason: string;
}

function locateProblem(value: unknown, omitKeys: readonly string[] | undefined): CanonicalJsonError {
  const problem = findProblem(value, '', 0, omitKeys);
  return problem
    ? new CanonicalJsonError(problem.path, problem.reason)
    : new CanonicalJsonError('', 'value cannot be encoded as canonical JSON');
}

function describeKey(key: string): string {
  return isWellFormed(key) ? key : JSON.stringify(key).slice(1, -1);
}

function childPath(path: string, key: string): string {
  return path === '' ? describeKey(key) : `${path}.${describeKey(key)}`;
}

function findProblem(
  value: unknown,
  path: string,
  depth: number,
  omitKeys: readonly string[] | undefined,
): Problem | undefined {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value) ? undefined : { path, reason: 'string contains a lone surrogate' };
    case 'number':
      if (Number.isSafeInteger(value)) return undefined;
      if (Number.isInteger(value)) return { path, reason: `integer ${value} is outside [-(2^53)+1, 2^53-1]` };
      return { path, reason: `number ${value} is not an integer` };
    case 'boolean':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (depth >= MAX_DEPTH) return { path, reason: `nested deeper than ${MAX_DEPTH} levels (or cyclic)` };
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const problem = findProblem(value[i], `${path}[${i}]`, depth + 1, undefined);
          if (problem) return problem;
        }
        return undefined;
      }
      if (!isPlainObject(value)) {
        const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
        return { path, reason: `${typeof kind === 'string' ? kind : 'non-plain'} object is not JSON` };
      }
      const keys = ownKeysWithout(value, omitKeys ?? []);
      for (const key of keys) {
        if (!isWellFormed(key)) return { path: childPath(path, key), reason: 'key contains a lone surrogate' };
      }
      keys.sort(compareCodePoints);
      for (const key of keys) {
        const problem = findProblem(value[key], childPath(path, key), depth + 1, undefined);
        if (problem) return problem;
      }
      return undefined;
    }
    default:
      return { path, reason: `${typeof value} is not JSON` };
  }
}
