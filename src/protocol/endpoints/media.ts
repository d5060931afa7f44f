import { Type } from '@sinclair/typebox';
import { defineEndpoint } from '../endpoint.js';

/**
 * The content repository (client-server API, "Content repository"; server-server API, "Content
 * Repository"). Downloads and thumbnails answer with the content's bytes, not JSON: their response is
 * described, not checked.
 */

const Bytes = Type.Unsafe<unknown>({ description: 'The content bytes, with Content-Type and Content-Disposition headers.' });
const ContentUri = Type.Object({ content_uri: Type.String() });
const MediaConfig = Type.Object({ 'm.upload.size': Type.Optional(Type.Integer()) });
const MediaParams = Type.Object({ serverName: Type.String(), mediaId: Type.String() });
const NamedMediaParams = Type.Object({ serverName: Type.String(), mediaId: Type.String(), fileName: Type.String() });
const TimeoutMs = Type.Optional(Type.Integer({ minimum: 0 }));
const ThumbnailQuery = {
  width: Type.Integer(),
  height: Type.Integer(),
  method: Type.Optional(Type.Union([Type.Literal('crop'), Type.Literal('scale')])),
  timeout_ms: TimeoutMs,
  animated: Type.Optional(Type.Boolean()),
};
/** The deprecated /_matrix/media/v3 paths: reachable under r0 too. */
const legacyMedia = (path: string) => ({ path: `/_matrix/media/v3${path}`, aliases: [`/_matrix/media/r0${path}`] });

export const getMediaConfigAuthed = defineEndpoint({
  name: 'getConfigAuthed',
  method: 'GET',
  path: '/_matrix/client/v1/media/config',
  auth: 'user',
  response: MediaConfig,
});

export const getMediaConfig = defineEndpoint({
  name: 'getConfig',
  method: 'GET',
  ...legacyMedia('/config'),
  auth: 'user',
  response: MediaConfig,
});

/** What GET /preview_url answers: OpenGraph keys, strings or numbers ("og:image" is an mxc URI). */
const OpenGraphAnswer = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]));
const PreviewQuery = Type.Object({
  url: Type.String({ minLength: 1 }),
  ts: Type.Optional(Type.Integer()),
});

export const previewUrlAuthed = defineEndpoint({
  name: 'getUrlPreviewAuthed',
  method: 'GET',
  path: '/_matrix/client/v1/media/preview_url',
  auth: 'user',
  rateLimit: 'url_preview',
  query: PreviewQuery,
  response: OpenGraphAnswer,
});

/** The deprecated path (Matrix 1.11 froze it), which still asks for an access token. */
export const previewUrl = defineEndpoint({
  name: 'getUrlPreview',
  method: 'GET',
  ...legacyMedia('/preview_url'),
  auth: 'user',
  rateLimit: 'url_preview',
  query: PreviewQuery,
  response: OpenGraphAnswer,
});

/** POST /upload: the body is the content itself, of any type (read by the media plugin, not as JSON). */
export const uploadContent = defineEndpoint({
  name: 'uploadContent',
  method: 'POST',
  path: '/_matrix/media/v3/upload',
  aliases: ['/_matrix/media/r0/upload', '/_matrix/media/v1/upload'],
  auth: 'user',
  rateLimit: 'media_upload',
  query: Type.Object({ filename: Type.Optional(Type.String()) }),
  response: ContentUri,
});

export const uploadContentToMxc = defineEndpoint({
  name: 'uploadContentToMXC',
  method: 'PUT',
  ...legacyMedia('/upload/{serverName}/{mediaId}'),
  auth: 'user',
  params: MediaParams,
  query: Type.Object({ filename: Type.Optional(Type.String()) }),
  response: Type.Object({}),
});

export const createContent = defineEndpoint({
  name: 'createContent',
  method: 'POST',
  path: '/_matrix/media/v1/create',
  auth: 'user',
  rateLimit: 'media_upload',
  response: Type.Object({ content_uri: Type.String(), unused_expires_at: Type.Integer() }),
});

export const getContentAuthed = defineEndpoint({
  name: 'getContentAuthed',
  method: 'GET',
  path: '/_matrix/client/v1/media/download/{serverName}/{mediaId}',
  auth: 'user',
  params: MediaParams,
  query: Type.Object({ timeout_ms: TimeoutMs }),
  response: Bytes,
});

export const getContentOverrideNameAuthed = defineEndpoint({
  name: 'getContentOverrideNameAuthed',
  method: 'GET',
  path: '/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}',
  auth: 'user',
  params: NamedMediaParams,
  query: Type.Object({ timeout_ms: TimeoutMs }),
  response: Bytes,
});

export const getContentThumbnailAuthed = defineEndpoint({
  name: 'getContentThumbnailAuthed',
  method: 'GET',
  path: '/_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}',
  auth: 'user',
  params: MediaParams,
  query: Type.Object(ThumbnailQuery),
  response: Bytes,
});

const LegacyDownloadQuery = Type.Object({
  allow_remote: Type.Optional(Type.Boolean()),
  timeout_ms: TimeoutMs,
  allow_redirect: Type.Optional(Type.Boolean()),
});

/** Deprecated (Matrix 1.11): downloads without an access token. */
export const getContent = defineEndpoint({
  name: 'getContent',
  method: 'GET',
  ...legacyMedia('/download/{serverName}/{mediaId}'),
  auth: 'none',
  params: MediaParams,
  query: LegacyDownloadQuery,
  response: Bytes,
});

export const getContentOverrideName = defineEndpoint({
  name: 'getContentOverrideName',
  method: 'GET',
  ...legacyMedia('/download/{serverName}/{mediaId}/{fileName}'),
  auth: 'none',
  params: NamedMediaParams,
  query: LegacyDownloadQuery,
  response: Bytes,
});

export const getContentThumbnail = defineEndpoint({
  name: 'getContentThumbnail',
  method: 'GET',
  ...legacyMedia('/thumbnail/{serverName}/{mediaId}'),
  auth: 'none',
  params: MediaParams,
  query: Type.Object({ ...ThumbnailQuery, allow_remote: Type.Optional(Type.Boolean()), allow_redirect: Type.Optional(Type.Boolean()) }),
  response: Bytes,
});

/** Server-server: this server's content, as a multipart/mixed answer (metadata, then the bytes). */
export const getFederationContent = defineEndpoint({
  name: 'getFederationContent',
  method: 'GET',
  path: '/_matrix/federation/v1/media/download/{mediaId}',
  auth: 'federation',
  params: Type.Object({ mediaId: Type.String() }),
  query: Type.Object({ timeout_ms: TimeoutMs }),
  response: Bytes,
});

export const getFederationContentThumbnail = defineEndpoint({
  name: 'getFederationContentThumbnail',
  method: 'GET',
  path: '/_matrix/federation/v1/media/thumbnail/{mediaId}',
  auth: 'federation',
  params: Type.Object({ mediaId: Type.String() }),
  query: Type.Object(ThumbnailQuery),
  response: Bytes,
});
