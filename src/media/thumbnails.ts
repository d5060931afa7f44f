/**
 * Thumbnails (client-server API, "Thumbnails"): which size to make for a request, and making it with
 * sharp (libvips). Sizes are chosen from a short list so that one picture has a handful of thumbnails,
 * however many sizes clients ask for.
 */
import sharp, { type Metadata } from 'sharp';

export type ThumbnailMethod = 'crop' | 'scale';

export interface ThumbnailSize {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
}

/** The sizes the spec recommends servers make. */
export const STANDARD_SIZES: readonly ThumbnailSize[] = [
  { width: 32, height: 32, method: 'crop' },
  { width: 96, height: 96, method: 'crop' },
  { width: 320, height: 240, method: 'scale' },
  { width: 640, height: 480, method: 'scale' },
  { width: 800, height: 600, method: 'scale' },
];

/** No thumbnail side is made larger than this; a larger request gets this size. */
export const MAX_THUMBNAIL_SIDE = 2000;

/**
 * The size made for a request: the smallest standard size of the method at least as large as asked
 * (thumbnails may be larger than asked, never smaller), else the request rounded up to a multiple of
 * 100 pixels, at most MAX_THUMBNAIL_SIDE a side.
 */
export function thumbnailSizeFor(width: number, height: number, method: ThumbnailMethod): ThumbnailSize {
  const standard = STANDARD_SIZES.find((size) => size.method === method && size.width >= width && size.height >= height);
  if (standard) return standard;
  const round = (side: number) => Math.min(MAX_THUMBNAIL_SIDE, Math.ceil(side / 100) * 100);
  return { width: round(width), height: round(height), method };
}

/** The picture cannot be thumbnailed: it is not one sharp can read. */
export class NotAnImageError extends Error {
  constructor(cause: unknown) {
    super('not an image that can be thumbnailed', { cause });
    this.name = 'NotAnImageError';
  }
}

/** A picture with more pixels than this is refused (M_TOO_LARGE): decoding it would take too much memory. */
export const MAX_SOURCE_PIXELS = 50_000_000;

export class TooManyPixelsError extends Error {
  constructor() {
    super(`the picture has more than ${MAX_SOURCE_PIXELS} pixels`);
    this.name = 'TooManyPixelsError';
  }
}

export interface MadeThumbnail {
  readonly bytes: Buffer;
  readonly contentType: 'image/png' | 'image/jpeg' | 'image/webp';
}

/**
 * The thumbnail of `source` at `size`, or 'original' when the picture is no larger than the thumbnail
 * would be (the spec: serve the original then; thumbnails are never upscaled) and `originalServable` says
 * its type is one a thumbnail may have; a small picture of another type (SVG, TIFF ...) is converted.
 *
 * crop: the picture is scaled to cover the box and cut to it. scale: the aspect ratio is kept, and the
 * result covers the box (both sides at least as large as asked, one of them exactly).
 * `animated`: an animated picture (GIF, WebP, APNG) gives an animated WebP; otherwise a still one, PNG
 * when the picture has transparency, else JPEG.
 */
export async function makeThumbnail(source: Buffer, size: ThumbnailSize, animated: boolean, originalServable: boolean): Promise<MadeThumbnail | 'original'> {
  let metadata: Metadata;
  try {
    metadata = await sharp(source, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new NotAnImageError(err);
  }
  const width = metadata.width;
  // An animation's frames are stacked: pageHeight is one frame's.
  const height = metadata.pageHeight ?? metadata.height;
  if (!width || !height) throw new NotAnImageError(new Error('no dimensions'));
  if (width * height > MAX_SOURCE_PIXELS) throw new TooManyPixelsError();
  // A small animation is served as it is only when animation was asked for.
  const stillOrAsked = animated || (metadata.pages ?? 1) <= 1;
  if (originalServable && stillOrAsked && width <= size.width && height <= size.height) return 'original';
  const moving = animated && (metadata.pages ?? 1) > 1;
  try {
    const image = sharp(source, { animated: moving, limitInputPixels: MAX_SOURCE_PIXELS }).rotate();
    image.resize(size.width, size.height, { fit: size.method === 'crop' ? 'cover' : 'outside', withoutEnlargement: true });
    if (moving) return { bytes: await image.webp({ quality: 80 }).toBuffer(), contentType: 'image/webp' };
    if (metadata.hasAlpha) return { bytes: await image.png().toBuffer(), contentType: 'image/png' };
    return { bytes: await image.jpeg({ quality: 80, mozjpeg: true }).toBuffer(), contentType: 'image/jpeg' };
  } catch (err) {
    throw new NotAnImageError(err);
  }
}

/**
 * A picture's size in pixels as it is shown (an EXIF rotation by a quarter turn swaps the sides; an
 * animation's is one frame's), or undefined when sharp cannot read it.
 */
export async function imageSize(source: Uint8Array): Promise<{ width: number; height: number } | undefined> {
  let metadata: Metadata;
  try {
    metadata = await sharp(source, { limitInputPixels: false }).metadata();
  } catch {
    return undefined;
  }
  const width = metadata.width;
  const height = metadata.pageHeight ?? metadata.height;
  if (!width || !height) return undefined;
  return (metadata.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
}

/** The types a thumbnail may be served as (the spec's list for the thumbnail endpoints). */
export const THUMBNAIL_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/apng', 'image/gif', 'image/webp']);
