/**
 * X-Matrix request authentication (server-server API, "Request Authentication"), as pure functions: the
 * JSON object a request's signature covers, the Authorization header that carries it, and the parser for
 * headers other servers send. No I/O: keys come in as arguments.
 */
import { decodeBase64, encodeBase64, encodeCanonicalJsonWithout, signBytes, signableJson, UNSIGNED_KEYS, verifyBytes, type SigningKey } from '../crypto/index.js';

/** What an X-Matrix signature covers. `content` is the parsed JSON body, absent for a request without one. */
export interface SignedRequest {
  readonly method: string;
  /** Path and query exactly as sent on the request line: `/_matrix/federation/v1/send/123?x=y`. */
  readonly uri: string;
  readonly origin: string;
  readonly destination: string;
  readonly content?: unknown;
}

/** The parameters of an `Authorization: X-Matrix ...` header. */
export interface XMatrixAuth {
  readonly origin: string;
  /** Absent from requests by servers older than spec v1.3. */
  readonly destination?: string;
  readonly key: string;
  readonly sig: string;
}

/** The object that gets signed: the request's fields, `content` only when there is a body. */
export function requestSigningObject(request: SignedRequest): Record<string, unknown> {
  const json: Record<string, unknown> = {
    method: request.method,
    uri: request.uri,
    origin: request.origin,
    destination: request.destination,
  };
  if (request.content !== undefined) json.content = request.content;
  return json;
}

/** Signs the request with this server's key and returns the Authorization header value. */
export function signRequest(request: SignedRequest, key: SigningKey): string {
  const sig = encodeBase64(signBytes(key, signableJson(requestSigningObject(request))));
  return formatXMatrix({ origin: request.origin, destination: request.destination, key: key.keyId, sig });
}

/**
 * `X-Matrix origin="...",destination="...",key="...",sig="..."`: one space after the scheme, lower-case
 * names, no spaces around commas, as the spec asks senders to write it for older servers.
 */
export function formatXMatrix(auth: XMatrixAuth): string {
  const params = [`origin=${quote(auth.origin)}`];
  if (auth.destination !== undefined) params.push(`destination=${quote(auth.destination)}`);
  params.push(`key=${quote(auth.key)}`, `sig=${quote(auth.sig)}`);
  return `X-Matrix ${params.join(',')}`;
}

function quote(value: string): string {
  // Server names, key ids and base64 never hold '"' or '\'; escaping keeps a hostile value from breaking out.
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Why an Authorization header is not a usable X-Matrix header. */
export class XMatrixParseError extends Error {
  override readonly name = 'XMatrixParseError';
}

const SCHEME = /^X-Matrix[ ]+/i;
/** RFC 9110 tchar, plus ':' which older servers send unquoted in server names. */
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:]/;
const NAME_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const MAX_HEADER_LENGTH = 8192;

/**
 * Parses `X-Matrix name=value, ...` (RFC 9110 section 11.4 auth-params): a case-insensitive scheme,
 * comma-separated name=value pairs with optional spaces and tabs around the commas, case-insensitive
 * names, values quoted (backslash escapes undone) or bare tokens (colons allowed, for older servers).
 * Unknown parameters are ignored; a parameter given twice is refused, as its meaning would be ambiguous.
 * origin, key and sig are required; destination is optional (servers before v1.3 do not send it).
 */
export function parseXMatrix(header: string): XMatrixAuth {
  if (header.length > MAX_HEADER_LENGTH) throw new XMatrixParseError('the Authorization header is too long');
  const scheme = SCHEME.exec(header);
  if (scheme === null) throw new XMatrixParseError('the Authorization header does not use the X-Matrix scheme');
  const params = new Map<string, string>();
  let i = scheme[0].length;
  const skipSpace = () => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  for (;;) {
    skipSpace();
    const nameStart = i;
    while (i < header.length && NAME_CHAR.test(header[i]!)) i++;
    if (i === nameStart) throw new XMatrixParseError(`expected a parameter name at position ${i}`);
    const name = header.slice(nameStart, i).toLowerCase();
    if (header[i] !== '=') throw new XMatrixParseError(`parameter ${name} has no '=value'`);
    i++;
    let value = '';
    if (header[i] === '"') {
      i++;
      for (;;) {
        if (i >= header.length) throw new XMatrixParseError(`the value of ${name} has no closing quote`);
        const c = header[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          if (i + 1 >= header.length) throw new XMatrixParseError(`the value of ${name} ends in a lone backslash`);
          value += header[i + 1];
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
    } else {
      const valueStart = i;
      while (i < header.length && TOKEN_CHAR.test(header[i]!)) i++;
      if (i === valueStart) throw new XMatrixParseError(`parameter ${name} has an empty value`);
      value = header.slice(valueStart, i);
    }
    if (params.has(name)) throw new XMatrixParseError(`parameter ${name} is given twice`);
    params.set(name, value);
    skipSpace();
    if (i >= header.length) break;
    if (header[i] !== ',') throw new XMatrixParseError(`expected ',' at position ${i}`);
    i++;
  }
  const origin = params.get('origin');
  const key = params.get('key');
  // The spec's prose calls it `signature`, its example and every server `sig`.
  const sig = params.get('sig') ?? params.get('signature');
  if (!origin) throw new XMatrixParseError('the X-Matrix header has no origin');
  if (!key) throw new XMatrixParseError('the X-Matrix header has no key');
  if (!sig) throw new XMatrixParseError('the X-Matrix header has no sig');
  const destination = params.get('destination');
  return destination === undefined ? { origin, key, sig } : { origin, destination, key, sig };
}

/**
 * Checks an X-Matrix signature over the request against the origin's public key. False (never an
 * exception) for a malformed signature, a key id of another algorithm, or a mismatch.
 */
export function verifyRequestSignature(request: SignedRequest, keyId: string, sig: string, publicKey: Uint8Array): boolean {
  if (!keyId.startsWith('ed25519:')) return false;
  let signature: Uint8Array;
  let message: string;
  try {
    signature = decodeBase64(sig);
    // A body with a float is not canonical JSON, but its sender could still sign it (as Synapse encodes
    // numbers): check the signature anyway, so the endpoint can say M_BAD_JSON rather than M_UNAUTHORIZED.
    message = encodeCanonicalJsonWithout(requestSigningObject(request), UNSIGNED_KEYS, { floats: 'allow' });
  } catch {
    return false;
  }
  return verifyBytes(publicKey, message, signature);
}
