export type * from './ports.js';
export { BlobTooLargeError } from './ports.js';
export { checkMediaId, contentDisposition, CONTENT_SECURITY_HEADERS, isMediaId, normaliseContentType, normaliseFileName } from './content.js';
export { boundaryOf, multipartFraming, parseMultipart, type MultipartPart } from './multipart.js';
export { createMediaService, DEFAULT_WAIT_MS, type MediaDeps, type MediaOptions, type MediaService, type ServedContent, type ThumbnailRequest } from './media.js';
export { createRemoteMedia, fileNameOf, type FetchedMedia, type RemoteMedia, type RemoteMediaDeps } from './remote.js';
export { MAX_THUMBNAIL_SIDE, STANDARD_SIZES, thumbnailSizeFor, type ThumbnailMethod } from './thumbnails.js';
