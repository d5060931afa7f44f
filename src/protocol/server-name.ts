/**
 * Server names (appendices, "Server Name"): `hostname [ ":" port ]`, where the hostname is a DNS name,
 * a dotted-quad IPv4 literal or a bracketed IPv6 literal. Parsed once at the edge into a branded
 * `ServerName`; inside Hearth a `ServerName` is known valid. Server names are case-sensitive.
 */
import { MatrixError } from './errors.js';

export type ServerName = string & { readonly __brand: 'ServerName' };

/** The grammar caps a dns-name at 255 characters; we cap the whole server name, port included. */
export const MAX_SERVER_NAME_LENGTH = 255;

const DNS_NAME = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
const DOTTED_QUAD = /^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/;
const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
/** A last label the WHATWG URL parser (and so undici) would read as an IPv4 number: `1.2.3`, `a.0x7f`. */
const NUMERIC_LABEL = /^(?:[0-9]+|0[xX][0-9A-Fa-f]*)$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const PORT = /^[0-9]{1,5}$/;

/** Why `value` is not a server name, or undefined when it is one. */
export function serverNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'server name must be a string';
  if (value.length === 0) return 'server name is empty';
  if (value.length > MAX_SERVER_NAME_LENGTH) {
    return `server name ${quoteForError(value)} is longer than ${MAX_SERVER_NAME_LENGTH} characters`;
  }
  const name = quoteForError(value);
  let host: string;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) return `server name ${name} has '[' without a closing ']'`;
    host = value.slice(0, close + 1);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return `server name ${name} has unexpected characters after the IPv6 literal`;
      port = rest.slice(1);
    }
    if (!isIpv6Address(host.slice(1, -1))) return `server name ${name} has an invalid IPv6 literal`;
  } else {
    const colon = value.indexOf(':');
    if (colon !== value.lastIndexOf(':')) {
      return `server name ${name} has more than one ':' (an IPv6 literal must be in square brackets)`;
    }
    host = colon === -1 ? value : value.slice(0, colon);
    port = colon === -1 ? undefined : value.slice(colon + 1);
    const hostProblem = ipv4OrDnsProblem(host);
    if (hostProblem !== undefined) return `server name ${name} ${hostProblem}`;
  }
  if (port !== undefined && !isValidPort(port)) {
    return `server name ${name} has an invalid port '${quoteInner(port)}' (expected a number from 1 to 65535)`;
  }
  return undefined;
}

function ipv4OrDnsProblem(host: string): string | undefined {
  if (DOTTED_QUAD.test(host)) {
    return isIpv4Address(host)
      ? undefined
      : 'has an invalid IPv4 literal (each part must be 0-255, without leading zeros)';
  }
  if (!DNS_NAME.test(host)) {
    return "is not a valid DNS name or IP literal (a DNS name is labels of letters, digits and '-' separated by single dots)";
  }
  const lastLabel = host.slice(host.lastIndexOf('.') + 1);
  if (NUMERIC_LABEL.test(lastLabel)) {
    return 'is not a valid DNS name or IP literal (its last label is numeric, so it would be read as an IP address)';
  }
  return undefined;
}

function isValidPort(text: string): boolean {
  if (!PORT.test(text)) return false;
  const port = Number(text);
  return port >= 1 && port <= 65535;
}

/** Dotted-quad IPv4, each part 0-255. Leading zeros are refused: some parsers read them as octal. */
function isIpv4Address(text: string): boolean {
  if (!DOTTED_QUAD.test(text)) return false;
  return text.split('.').every((part) => IPV4_PART.test(part) && Number(part) <= 255);
}

/** RFC 3513 section 2.2: eight hex groups, one optional `::`, optionally ending in a dotted quad. */
function isIpv6Address(text: string): boolean {
  if (!IPV6_CHARS.test(text)) return false;
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return false;
  const splitGroups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = gap === -1 ? splitGroups(text) : splitGroups(text.slice(0, gap));
  const tail = gap === -1 ? [] : splitGroups(text.slice(gap + 2));
  const groups = [...head, ...tail];
  let width = 0;
  for (const [index, group] of groups.entries()) {
    const isLast = index === groups.length - 1;
    // A dotted quad may only end the address, and must come after the gap if there is one.
    if (isLast && group.includes('.') && (gap === -1 || tail.length > 0)) {
      if (!isIpv4Address(group)) return false;
      width += 2;
    } else if (HEX_GROUP.test(group)) {
      width += 1;
    } else {
      return false;
    }
  }
  // `::` stands for at least one zero group.
  return gap === -1 ? width === 8 : width <= 7;
}

export function isServerName(value: unknown): value is ServerName {
  return serverNameProblem(value) === undefined;
}

/** Parses a server name at the edge; throws M_INVALID_PARAM saying what is wrong. */
export function parseServerName(value: unknown): ServerName {
  const problem = serverNameProblem(value);
  if (problem !== undefined) throw new MatrixError('M_INVALID_PARAM', problem);
  return value as ServerName;
}

/**
 * The hostname and explicit port of a server name. An IPv6 host keeps its brackets (`[::1]`), as a URL
 * needs them; strip them before handing the address to a socket.
 */
export function splitServerName(name: ServerName): { host: string; port?: number } {
  const portColon = name.startsWith('[') ? name.indexOf(':', name.indexOf(']')) : name.indexOf(':');
  if (portColon === -1) return { host: name };
  return { host: name.slice(0, portColon), port: Number(name.slice(portColon + 1)) };
}

/**
 * Whether a server name (or its hostname, with or without port) is an IP literal rather than a DNS
 * name. An IPv6 literal counts only in brackets, as the grammar writes it.
 */
export function isIpLiteral(value: string): boolean {
  if (!isServerName(value)) return false;
  const { host } = splitServerName(value);
  return host.startsWith('[') || isIpv4Address(host);
}

/**
 * Quotes a caller's value for an error message: single quotes, control characters escaped, cut to
 * a length that keeps a hostile megabyte out of replies and logs.
 */
export function quoteForError(value: string): string {
  return `'${quoteInner(value)}'`;
}

function quoteInner(value: string): string {
  const limit = 100;
  const cut = value.length > limit ? `${value.slice(0, limit)}…` : value;
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
