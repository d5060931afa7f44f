/**
 * URL previews (client-server API, "Content repository", GET /_matrix/client/v1/media/preview_url): the
 * server fetches a page a user wants previewed and answers with its OpenGraph data, its picture fetched too
 * and served from this server's content repository (so the client never contacts the site). Each URL is
 * fetched once per `cacheMs` however many clients ask (one fetch at a time per URL), and the answer kept in
 * the database.
 */
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import { MatrixError } from '../../protocol/index.js';
import { decodeHtml, parseOpenGraph, type OpenGraph } from './opengraph.js';
import { isDeniedHost, PreviewFetchError, type FetchedResource, type PreviewFetcher } from './fetch.js';

export interface UrlPreviewStore {
  /** The newest unexpired preview of `url` fetched at or before `atOrBeforeTs`, else the newest unexpired one. */
  preview(url: string, nowTs: number, atOrBeforeTs: number): Promise<OpenGraph | undefined>;
  keep(url: string, fetchedTs: number, expiresTs: number, og: OpenGraph): Promise<void>;
  /** Drops the expired previews; returns how many. */
  forgetExpired(nowTs: number): Promise<number>;
}

export interface UrlPreviewOptions {
  /** Host names never previewed (the fetcher refuses them at every redirect too); see isDeniedHost. */
  readonly deniedHosts: readonly string[];
  /** How long a preview is kept and served again. */
  readonly cacheMs: number;
}

export interface UrlPreviewDeps {
  readonly fetcher: PreviewFetcher;
  readonly store: UrlPreviewStore;
  /** Keeps a fetched picture as this server's content; returns its mxc URI. */
  readonly keepImage: (bytes: Uint8Array, contentType: string, fileName: string | null) => Promise<string>;
  /** A picture's size in pixels, when it is one that can be read. */
  readonly imageSize: (bytes: Uint8Array) => Promise<{ readonly width: number; readonly height: number } | undefined>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: UrlPreviewOptions;
}

const PAGE_ACCEPT = 'text/html,application/xhtml+xml;q=0.9,image/*;q=0.8,*/*;q=0.5';
const IMAGE_ACCEPT = 'image/*';
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
/** The keys that describe the page's picture: dropped with it when it cannot be fetched. */
const IMAGE_KEYS = ['og:image', 'og:image:url', 'og:image:secure_url', 'og:image:type', 'og:image:width', 'og:image:height'];
/** How often, at most, expired previews are swept out (on the next preview made after it). */
const SWEEP_EVERY_MS = 10 * 60_000;

export type UrlPreviewService = ReturnType<typeof createUrlPreviewService>;

/** The URL a client asked about, checked: absolute http(s), without its fragment (the page is the same). */
export function previewTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 'url must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MatrixError('M_INVALID_PARAM', `Only http and https URLs are previewed, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new MatrixError('M_INVALID_PARAM', 'URLs carrying a user name or password are not previewed');
  }
  url.hash = '';
  return url;
}

export function createUrlPreviewService(deps: UrlPreviewDeps) {
  const { fetcher, store, clock, options } = deps;
  const log = deps.log.child({ component: 'url-preview' });
  /** Previews being made, by URL: one fetch however many ask at once. */
  const making = new Map<string, Promise<OpenGraph>>();
  let sweptAt = 0;

  function refused(err: unknown): MatrixError {
    if (!(err instanceof PreviewFetchError)) throw err;
    if (err.kind === 'blocked') return new MatrixError('M_FORBIDDEN', `This URL may not be previewed: ${err.message}`);
    if (err.kind === 'too_large') return new MatrixError('M_TOO_LARGE', `Could not preview the URL: ${err.message}`, { status: 502 });
    return new MatrixError('M_UNKNOWN', `Could not preview the URL: ${err.message}`, { status: 502 });
  }

  /** The page's picture as this server's content, replacing the site's URL; dropped when it cannot be had. */
  async function withImage(og: OpenGraph): Promise<OpenGraph> {
    const source = og['og:image'];
    if (typeof source !== 'string') return og;
    try {
      const url = new URL(source);
      const image = await fetcher.fetch(url, IMAGE_ACCEPT);
      if (image.mediaType?.startsWith('image/') !== true) throw new PreviewFetchError('status', `${url.host} answered with ${image.mediaType ?? 'no content type'}, not a picture`);
      return { ...og, ...(await imageFields(image)) };
    } catch (err) {
      log.info({ reason: err instanceof Error ? err.message : String(err) }, 'preview picture left out');
      const rest = { ...og };
      for (const key of IMAGE_KEYS) delete rest[key];
      return rest;
    }
  }

  /** og:image and what describes it, for a picture fetched. */
  async function imageFields(image: FetchedResource): Promise<OpenGraph> {
    const contentType = image.contentType ?? 'application/octet-stream';
    const fileName = decodeURIComponent(image.url.pathname.split('/').pop() ?? '') || null;
    const mxc = await deps.keepImage(image.body, contentType, fileName);
    const size = await deps.imageSize(image.body);
    return {
      'og:image': mxc,
      'og:image:type': image.mediaType ?? contentType,
      'matrix:image:size': image.body.length,
      ...(size === undefined ? {} : { 'og:image:width': size.width, 'og:image:height': size.height }),
    };
  }

  async function make(url: URL): Promise<OpenGraph> {
    const fetchedTs = clock.now();
    let og: OpenGraph;
    try {
      const page = await fetcher.fetch(url, PAGE_ACCEPT);
      if (page.mediaType?.startsWith('image/') === true) {
        og = await imageFields(page);
      } else if (page.mediaType === undefined ? looksLikeHtml(page.body) : HTML_TYPES.has(page.mediaType)) {
        og = await withImage(parseOpenGraph(decodeHtml(page.body, page.contentType), page.url));
      } else {
        // Neither a page nor a picture (a PDF, a video): nothing to show but the link.
        og = {};
      }
    } catch (err) {
      throw refused(err);
    }
    await store.keep(url.href, fetchedTs, fetchedTs + options.cacheMs, og);
    if (fetchedTs - sweptAt >= SWEEP_EVERY_MS) {
      sweptAt = fetchedTs;
      store.forgetExpired(fetchedTs).catch((err: unknown) => log.warn({ err }, 'could not drop expired URL previews'));
    }
    return og;
  }

  return {
    /** GET /preview_url: the OpenGraph data of `raw`, as of `ts` when a kept one was fetched by then. */
    async preview(raw: string, ts: number | undefined): Promise<OpenGraph> {
      const url = previewTarget(raw);
      if (isDeniedHost(url.hostname.replace(/^\[|\]$/g, ''), options.deniedHosts)) {
        throw new MatrixError('M_FORBIDDEN', `This server does not preview URLs of ${url.hostname}`);
      }
      const now = clock.now();
      const kept = await store.preview(url.href, now, ts ?? now);
      if (kept !== undefined) return kept;
      let pending = making.get(url.href);
      if (pending === undefined) {
        pending = make(url).finally(() => making.delete(url.href));
        making.set(url.href, pending);
      }
      return pending;
    },
  };
}

/** A body sent without a Content-Type that starts like markup. */
function looksLikeHtml(body: Uint8Array): boolean {
  const start = Buffer.from(body.subarray(0, 512)).toString('latin1').trimStart().toLowerCase();
  return start.startsWith('<!doctype html') || start.startsWith('<html') || start.startsWith('<head');
}
