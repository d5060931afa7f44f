/**
 * The pure rules of the media repository: which ids are valid, how content is described to the browser
 * that downloads it (Content-Type, Content-Disposition and the security headers the spec recommends).
 */
import { MatrixError } from '../protocol/index.js';

/** The spec's media id grammar: letters, digits, `_` and `-` (it keeps `..` and `/` out of paths). */
const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;

export function isMediaId(value: string): boolean {
  return MEDIA_ID.test(value);
}

/** Refuses a media id outside the spec's grammar, with M_INVALID_PARAM saying so. */
export function checkMediaId(value: string): string {
  if (!isMediaId(value)) throw new MatrixError('M_INVALID_PARAM', 'A media id has only letters, digits, _ and - (at most 255 of them)');
  return value;
}

/** What content whose uploader named no type is served as. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** A Content-Type header as stored: its media type and parameters, or the default when it is unusable. */
export function normaliseContentType(header: string | undefined): string {
  const value = header?.trim();
  // type/subtype, then parameters; header values hold visible ASCII and spaces only.
  if (!value || value.length > 255 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;[\x20-\x7e]*)?$/.test(value)) {
    return DEFAULT_CONTENT_TYPE;
  }
  return value;
}

/** The media type alone, lower-cased: `image/png` of `image/PNG; charset=x`. */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * The types the spec lists as safe to serve `inline` (client-server API, "Serving inline content"):
 * browsers render them as what they claim to be, never as a page that runs script.
 */
const INLINE_TYPES = new Set([
  'text/css', 'text/plain', 'text/csv', 'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav', 'audio/x-wav',
  'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

/** A file name as uploaded: at most 255 characters, no control characters or path; null when none is left. */
export function normaliseFileName(name: string | undefined): string | null {
  if (name === undefined) return null;
  const cleaned = name.replace(/[\x00-\x1f\x7f]/g, '').replace(/^.*[/\\]/, '').trim().slice(0, 255);
  return cleaned === '' ? null : cleaned;
}

/**
 * The Content-Disposition of served content: `inline` for the safe types, `attachment` for every other,
 * with the file name in both the plain form (ASCII, quoted) and RFC 6266's `filename*` for the rest.
 */
export function contentDisposition(contentType: string, fileName: string | null): string {
  const disposition = INLINE_TYPES.has(mediaType(contentType)) ? 'inline' : 'attachment';
  if (fileName === null) return disposition;
  if (/^[\x20-\x7e]*$/.test(fileName)) return `${disposition}; filename="${fileName.replace(/["\\]/g, '\\$&')}"`;
  return `${disposition}; filename*=utf-8''${encodeRfc5987(fileName)}`;
}

function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Headers on every piece of served content (the spec's recommendations): the browser may not run
 * anything from it, and web clients on other origins may still load it.
 */
export const CONTENT_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';",
  'cross-origin-resource-policy': 'cross-origin',
  'x-content-type-options': 'nosniff',
  // Content never changes under its mxc URI.
  'cache-control': 'public, max-age=86400, immutable',
});
