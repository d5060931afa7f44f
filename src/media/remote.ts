/**
 * Fetching another server's content (server-server API, "Content Repository"): GET
 * /_matrix/federation/v1/media/download/{mediaId}, whose multipart answer holds the bytes or a Location to
 * fetch them from; servers that do not know that endpoint yet are asked at the deprecated
 * /_matrix/media/v3/download/{serverName}/{mediaId}?allow_remote=false.
 */
import { FederationRequestError, type FederationClient } from '../federation/index.js';
import type { HttpResponse } from '../platform/http-client.js';
import { MatrixError } from '../protocol/index.js';
import { boundaryOf, parseMultipart } from './multipart.js';

export interface FetchedMedia {
  readonly contentType: string | undefined;
  readonly fileName: string | null;
  readonly bytes: Buffer;
}

export interface RemoteMedia {
  /** Throws MatrixError: M_NOT_FOUND, M_TOO_LARGE (502), M_NOT_YET_UPLOADED, or M_UNKNOWN (502) when the server fails. */
  fetch(origin: string, mediaId: string, limits: { readonly timeoutMs: number; readonly maxBytes: number }): Promise<FetchedMedia>;
}

export interface RemoteMediaDeps {
  readonly client: FederationClient;
  /**
   * Fetches the URL a multipart answer's Location names (a CDN, typically); it must refuse addresses
   * federation may not reach. Absent: such answers are treated as failures.
   */
  readonly fetchLocation?: (url: string, maxBytes: number) => Promise<HttpResponse>;
}

/** The file name of a Content-Disposition header (plain or RFC 6266 `filename*`), or null. */
export function fileNameOf(disposition: string | undefined): string | null {
  if (!disposition) return null;
  const extended = /filename\*\s*=\s*utf-8''([^;]+)/i.exec(disposition);
  if (extended?.[1]) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(disposition);
  const name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2];
  return name ?? null;
}

export function createRemoteMedia(deps: RemoteMediaDeps): RemoteMedia {
  function translate(err: unknown, origin: string): never {
    if (err instanceof MatrixError && !(err instanceof FederationRequestError)) throw err;
    if (err instanceof FederationRequestError) {
      if (err.kind === 'too_large') throw new MatrixError('M_TOO_LARGE', 'The remote content is too large to serve', { status: 502 });
      if (err.remoteErrcode === 'M_NOT_YET_UPLOADED') throw new MatrixError('M_NOT_YET_UPLOADED', 'The content has not been uploaded to its server yet');
      if (err.remoteStatus === 404 || err.remoteErrcode === 'M_NOT_FOUND') throw new MatrixError('M_NOT_FOUND', `${origin} has no such content`);
      if (err.kind === 'timeout') throw new MatrixError('M_UNKNOWN', `${origin} did not answer in time`, { status: 504 });
    }
    throw new MatrixError('M_UNKNOWN', `Could not fetch the content from ${origin}`, { status: 502, cause: err });
  }

  async function authenticated(origin: string, mediaId: string, limits: { timeoutMs: number; maxBytes: number }): Promise<FetchedMedia> {
    const response = await deps.client.fetch(origin, 'GET', `/_matrix/federation/v1/media/download/${encodeURIComponent(mediaId)}`, {
      query: { timeout_ms: limits.timeoutMs },
      timeoutMs: limits.timeoutMs + 30_000,
      // The multipart framing and its JSON part come on top of the content.
      maxResponseBytes: limits.maxBytes + 64 * 1024,
    });
    const boundary = boundaryOf(response.headers['content-type']);
    if (!boundary) throw new MatrixError('M_UNKNOWN', `${origin} answered a media download without a multipart body`, { status: 502 });
    let parts;
    try {
      parts = parseMultipart(Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength), boundary);
    } catch (err) {
      throw new MatrixError('M_UNKNOWN', `${origin} answered a media download with a malformed multipart body`, { status: 502, cause: err });
    }
    const content = parts[1];
    if (!content) throw new MatrixError('M_UNKNOWN', `${origin} answered a media download without its content part`, { status: 502 });
    const location = content.headers.location;
    if (location !== undefined) {
      if (!deps.fetchLocation) throw new MatrixError('M_UNKNOWN', `${origin} redirected a media download elsewhere`, { status: 502 });
      const redirected = await deps.fetchLocation(location, limits.maxBytes);
      if (redirected.status < 200 || redirected.status >= 300) throw new MatrixError('M_NOT_FOUND', `${origin}'s content could not be fetched from where it pointed`);
      return {
        contentType: redirected.headers['content-type'],
        fileName: fileNameOf(redirected.headers['content-disposition']),
        bytes: Buffer.from(redirected.body.buffer, redirected.body.byteOffset, redirected.body.byteLength),
      };
    }
    if (content.body.length > limits.maxBytes) throw new MatrixError('M_TOO_LARGE', 'The remote content is too large to serve', { status: 502 });
    return { contentType: content.headers['content-type'], fileName: fileNameOf(content.headers['content-disposition']), bytes: content.body };
  }

  async function legacy(origin: string, mediaId: string, limits: { timeoutMs: number; maxBytes: number }): Promise<FetchedMedia> {
    const response = await deps.client.fetch(origin, 'GET', `/_matrix/media/v3/download/${encodeURIComponent(origin)}/${encodeURIComponent(mediaId)}`, {
      query: { allow_remote: 'false', timeout_ms: limits.timeoutMs },
      timeoutMs: limits.timeoutMs + 30_000,
      maxResponseBytes: limits.maxBytes,
    });
    return {
      contentType: response.headers['content-type'],
      fileName: fileNameOf(response.headers['content-disposition']),
      bytes: Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength),
    };
  }

  return {
    async fetch(origin, mediaId, limits) {
      try {
        return await authenticated(origin, mediaId, limits);
      } catch (err) {
        // A server from before Matrix 1.11 does not know the endpoint: 404 (or 400/405) M_UNRECOGNIZED.
        if (!(err instanceof FederationRequestError && err.remoteErrcode === 'M_UNRECOGNIZED')) translate(err, origin);
      }
      try {
        return await legacy(origin, mediaId, limits);
      } catch (err) {
        translate(err, origin);
      }
    },
  };
}
