/**
 * Names from identity providers as Matrix localparts: the spec's "Mapping from other character sets"
 * (appendices, user identifiers). Pure.
 */

const ALLOWED = /^[a-z0-9._\-/+]$/;

/**
 * A provider's name for a person as a localpart: UTF-8 bytes, A-Z lowered, every byte outside the
 * localpart alphabet (and `=` itself) written as `=xx`. `Cas_User!` becomes `cas_user=21`. A leading `_`
 * is escaped too (`=5f`): localparts starting with `_` are kept for bridges. undefined for an empty name.
 */
export function localpartFromExternalName(name: string): string | undefined {
  let localpart = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const lowered = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
    const char = String.fromCharCode(lowered);
    localpart += lowered < 0x80 && ALLOWED.test(char) ? char : `=${lowered.toString(16).padStart(2, '0')}`;
  }
  if (localpart.startsWith('_')) localpart = `=5f${localpart.slice(1)}`;
  return localpart === '' ? undefined : localpart;
}

/** The localparts to try for a new account, in order: the mapped name, then with 1, 2, ... appended. */
export function* localpartCandidates(base: string, count: number): Generator<string> {
  yield base;
  for (let n = 1; n < count; n++) yield `${base}${n}`;
}

/**
 * `redirectUrl` with `loginToken` set (any loginToken it carries removed first, as the spec asks), the rest
 * of its query and its fragment kept as they are.
 */
export function withLoginToken(redirectUrl: string, loginToken: string): string {
  const hashAt = redirectUrl.indexOf('#');
  const fragment = hashAt < 0 ? '' : redirectUrl.slice(hashAt);
  const beforeFragment = hashAt < 0 ? redirectUrl : redirectUrl.slice(0, hashAt);
  const queryAt = beforeFragment.indexOf('?');
  const base = queryAt < 0 ? beforeFragment : beforeFragment.slice(0, queryAt);
  const kept = queryAt < 0
    ? []
    : beforeFragment
        .slice(queryAt + 1)
        .split('&')
        .filter((part) => part !== '' && part.split('=')[0] !== 'loginToken');
  return `${base}?${[...kept, `loginToken=${encodeURIComponent(loginToken)}`].join('&')}${fragment}`;
}

/** Percent-encodes all but RFC 3986's unreserved characters (encodeURIComponent also leaves !'()* bare). */
export function strictUriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
