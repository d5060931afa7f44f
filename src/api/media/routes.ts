import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  contentDisposition,
  CONTENT_SECURITY_HEADERS,
  multipartFraming,
  type MediaService,
  type ServedContent,
  type ThumbnailRequest,
  type UrlPreviewService,
} from '../../media/index.js';
import { MatrixError } from '../../protocol/index.js';
import {
  createContent,
  getContent,
  getContentAuthed,
  getContentOverrideName,
  getContentOverrideNameAuthed,
  getContentThumbnail,
  getContentThumbnailAuthed,
  getFederationContent,
  getFederationContentThumbnail,
  getMediaConfig,
  getMediaConfigAuthed,
  previewUrl,
  previewUrlAuthed,
  uploadContent,
  uploadContentToMxc,
} from '../../protocol/endpoints/media.js';
import { federationRoute } from '../federation/auth.js';
import { route } from '../plumbing/route.js';

export interface MediaRouteOptions {
  /** Serve downloads and thumbnails at the deprecated /_matrix/media/v3 paths (no access token). */
  readonly serveUnauthenticated: boolean;
  /** URL previews; null when url_previews.enabled is off (the endpoints answer 404 M_UNRECOGNIZED). */
  readonly previews: UrlPreviewService | null;
}

/** Sends content with the headers the spec asks for; `fileName` overrides the uploaded name. */
function sendContent(reply: FastifyReply, content: ServedContent, fileName: string | null = content.fileName): FastifyReply {
  return reply
    .headers(CONTENT_SECURITY_HEADERS)
    .header('content-type', content.contentType)
    .header('content-disposition', contentDisposition(content.contentType, fileName))
    .header('content-length', content.sizeBytes)
    .send(content.stream);
}

/** A thumbnail is always `inline` (its types are all safe to show), named thumbnail.EXT. */
function sendThumbnail(reply: FastifyReply, content: ServedContent): FastifyReply {
  return reply
    .headers(CONTENT_SECURITY_HEADERS)
    .header('content-type', content.contentType)
    .header('content-disposition', `inline; filename="${content.fileName ?? 'thumbnail'}"`)
    .header('content-length', content.sizeBytes)
    .send(content.stream);
}

/** The federation answer: a multipart/mixed body of `{}` metadata and then the content. */
function sendMultipart(reply: FastifyReply, content: ServedContent, random: () => string): FastifyReply {
  const framing = multipartFraming(random(), content.contentType, contentDisposition(content.contentType, content.fileName));
  async function* body(): AsyncGenerator<Buffer> {
    yield framing.head;
    for await (const chunk of content.stream) yield chunk as Buffer;
    yield framing.tail;
  }
  return reply
    .header('content-type', framing.contentType)
    .header('content-length', framing.head.length + content.sizeBytes + framing.tail.length)
    .send(Readable.from(body()));
}

/** The thumbnail query every thumbnail endpoint shares; scale is the default method, still the default picture. */
function thumbnailRequest(query: { width: number; height: number; method?: 'crop' | 'scale'; animated?: boolean; timeout_ms?: number }): ThumbnailRequest {
  return { width: query.width, height: query.height, method: query.method ?? 'scale', animated: query.animated ?? false, timeoutMs: query.timeout_ms };
}

function contentLength(value: string | undefined): number | undefined {
  return value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : undefined;
}

/**
 * The content repository: uploads (their bodies are the content, of any type, streamed to the blob
 * store rather than parsed), the authenticated downloads and thumbnails, the deprecated unauthenticated
 * ones (answering 404 unless media.serve_unauthenticated), and the federation endpoints other servers
 * fetch this server's content from.
 */
export function mediaRoutes(media: MediaService, options: MediaRouteOptions) {
  return async (app: FastifyInstance): Promise<void> => {
    await app.register(async (uploads) => {
      uploads.removeAllContentTypeParsers();
      uploads.addContentTypeParser('*', (_request, payload, done) => {
        // A client hanging up mid-upload errors the stream; until the blob store reads it (after the
        // handler's first database read), that error must have a listener or it would end the process.
        payload.on('error', () => undefined);
        done(null, payload);
      });
      const bodyOf = (body: unknown): Readable | Uint8Array => (body instanceof Readable ? body : new Uint8Array(0));

      route(uploads, uploadContent, ({ requester, request, query }) =>
        media.upload(requester, bodyOf(request.body), {
          contentType: request.headers['content-type'],
          fileName: query.filename,
          contentLength: contentLength(request.headers['content-length']),
        }),
      );
      route(uploads, uploadContentToMxc, ({ requester, request, params, query }) =>
        media.uploadTo(requester, params.serverName, params.mediaId, bodyOf(request.body), {
          contentType: request.headers['content-type'],
          fileName: query.filename,
          contentLength: contentLength(request.headers['content-length']),
        }),
      );
    });

    route(app, createContent, ({ requester }) => media.create(requester));
    route(app, getMediaConfigAuthed, () => media.config());
    route(app, getMediaConfig, () => media.config());

    const preview = (query: { url: string; ts?: number }) => {
      if (options.previews === null) throw new MatrixError('M_UNRECOGNIZED', 'URL previews are turned off on this server');
      return options.previews.preview(query.url, query.ts);
    };
    route(app, previewUrlAuthed, ({ query }) => preview(query));
    route(app, previewUrl, ({ query }) => preview(query));

    route(app, getContentAuthed, async ({ params, query, reply }) =>
      sendContent(reply, await media.download(params.serverName, params.mediaId, { timeoutMs: query.timeout_ms })),
    );
    route(app, getContentOverrideNameAuthed, async ({ params, query, reply }) =>
      sendContent(reply, await media.download(params.serverName, params.mediaId, { timeoutMs: query.timeout_ms }), params.fileName),
    );
    route(app, getContentThumbnailAuthed, async ({ params, query, reply }) =>
      sendThumbnail(reply, await media.thumbnail(params.serverName, params.mediaId, thumbnailRequest(query))),
    );

    const frozen = (): MatrixError =>
      new MatrixError('M_NOT_FOUND', 'This server serves media only at /_matrix/client/v1/media/, with an access token');
    route(app, getContent, async ({ params, query, reply }) => {
      if (!options.serveUnauthenticated) throw frozen();
      return sendContent(reply, await media.download(params.serverName, params.mediaId, { timeoutMs: query.timeout_ms, allowRemote: query.allow_remote ?? true }));
    });
    route(app, getContentOverrideName, async ({ params, query, reply }) => {
      if (!options.serveUnauthenticated) throw frozen();
      const content = await media.download(params.serverName, params.mediaId, { timeoutMs: query.timeout_ms, allowRemote: query.allow_remote ?? true });
      return sendContent(reply, content, params.fileName);
    });
    route(app, getContentThumbnail, async ({ params, query, reply }) => {
      if (!options.serveUnauthenticated) throw frozen();
      return sendThumbnail(reply, await media.thumbnail(params.serverName, params.mediaId, { ...thumbnailRequest(query), allowRemote: query.allow_remote ?? true }));
    });
  };
}

/** GET /_matrix/federation/v1/media/download and /thumbnail: this server's content, for other servers. */
export function federationMediaRoutes(media: MediaService, serverName: string, boundary: () => string) {
  return async (app: FastifyInstance): Promise<void> => {
    federationRoute(app, getFederationContent, async ({ params, query, reply }) =>
      sendMultipart(reply, await media.downloadForServer(params.mediaId, query.timeout_ms), boundary),
    );
    federationRoute(app, getFederationContentThumbnail, async ({ params, query, reply }) => {
      const thumbnail = await media.thumbnail(serverName, params.mediaId, { ...thumbnailRequest(query), allowRemote: false }, true);
      return sendMultipart(reply, thumbnail, boundary);
    });
  };
}
