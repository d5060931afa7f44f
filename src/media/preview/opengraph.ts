/**
 * The pure half of URL previews (GET /_matrix/client/v1/media/preview_url): turn a fetched page's bytes into
 * text, and that text into its OpenGraph data. Nothing here touches the network, and nothing throws, because
 * every byte comes from a page anyone can write.
 */

/** What a page says about itself, OpenGraph style: "og:title" etc. Values are strings or numbers. */
export type OpenGraph = Record<string, string | number>;

/** Longest text value kept: a preview is a line or two, and the reply should stay small. */
const MAX_VALUE_LENGTH = 1000;
/** URLs are never cut (a cut URL points nowhere); longer ones are dropped instead. */
const MAX_URL_LENGTH = 2048;
/** Only this much of a page is scanned, so a huge page costs bounded time. */
const MAX_HTML_LENGTH = 1 << 20;
/** How far into the bytes a <meta charset> is looked for (the HTML standard's prescan reads 1024). */
const CHARSET_SNIFF_BYTES = 2048;
/** Enough <img> candidates to step over a few with unusable URLs, few enough to stay cheap. */
const MAX_IMG_CANDIDATES = 10;

// ---------------------------------------------------------------------------------------------------------
// Decoding bytes to text

/**
 * Decodes an HTML page's bytes to text: charset from the Content-Type header's charset parameter, else a BOM,
 * else a <meta charset="..."> or <meta http-equiv="Content-Type" content="...; charset=..."> within the first
 * 2048 bytes (read as latin1 for the sniff), else UTF-8. Unknown labels fall back to UTF-8. Never throws
 * (TextDecoder without fatal).
 */
export function decodeHtml(bytes: Uint8Array, contentType: string | undefined): string {
  // An unknown label counts as no label, so the next source still gets its say before UTF-8.
  const encoding =
    knownEncoding(charsetIn(contentType)) ??
    knownEncoding(bomCharset(bytes)) ??
    knownEncoding(metaCharset(bytes)) ??
    'utf-8';
  return new TextDecoder(encoding).decode(bytes);
}

/** The value of a `charset=` parameter, as in a Content-Type header or a http-equiv meta's content. */
function charsetIn(text: string | undefined): string | undefined {
  const match = text === undefined ? null : /charset\s*=\s*["']?([^\s;"']+)/i.exec(text);
  return match?.[1];
}

function bomCharset(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/** The charset a page declares in its own markup, read from its first bytes as latin1 (ASCII is all it needs). */
function metaCharset(bytes: Uint8Array): string | undefined {
  const head = String.fromCharCode(...bytes.subarray(0, CHARSET_SNIFF_BYTES));
  for (const tag of scanTags(head)) {
    if (tag.kind !== 'start' || tag.name !== 'meta') continue;
    const declared =
      tag.attributes.get('charset') ??
      (tag.attributes.get('http-equiv')?.trim().toLowerCase() === 'content-type'
        ? charsetIn(tag.attributes.get('content'))
        : undefined);
    // Markup readable as ASCII cannot really be UTF-16, so the HTML standard reads such a claim as UTF-8.
    if (declared !== undefined) return /^\s*utf-16/i.test(declared) ? 'utf-8' : declared;
  }
  return undefined;
}

/** The encoding a label names, or undefined when the label is missing or unknown to TextDecoder. */
function knownEncoding(label: string | undefined): string | undefined {
  if (label === undefined || label.trim() === '') return undefined;
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// A small tag scanner: just enough of the HTML tokenizer to find tags the way a browser would

interface StartTag {
  readonly kind: 'start';
  /** Lower case. */
  readonly name: string;
  /** Names in lower case; values with character references decoded; the first of a repeated name wins. */
  readonly attributes: ReadonlyMap<string, string>;
  readonly selfClosing: boolean;
  /** The content of a text-only element (<title>, <script>...), which holds no tags. */
  readonly text?: string;
}

interface EndTag {
  readonly kind: 'end';
  readonly name: string;
}

type Tag = StartTag | EndTag;

/** Elements whose content is text, not markup: a "<meta" inside a <script> is not a tag. */
const TEXT_ELEMENTS = new Set(['script', 'style', 'title', 'textarea', 'xmp', 'iframe', 'noembed', 'noframes']);
/** Of those, the ones whose text may hold character references. */
const ESCAPABLE_TEXT_ELEMENTS = new Set(['title', 'textarea']);

function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\n' || char === '\t' || char === '\r' || char === '\f';
}

function isAsciiLetter(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z]$/.test(char);
}

/**
 * The tags of a document in order, skipping comments, doctypes and the text between tags. A tag cut off by
 * the end of the input is dropped, as a browser drops it.
 */
function* scanTags(html: string): Generator<Tag> {
  let at = 0;
  while (at < html.length) {
    const open = html.indexOf('<', at);
    if (open === -1) return;
    const next = html[open + 1];
    let resume: number;
    if (html.startsWith('<!--', open)) {
      resume = commentEnd(html, open + 4);
    } else if (next === '!' || next === '?' || (next === '/' && !isAsciiLetter(html[open + 2]))) {
      // Doctypes, processing instructions and stray "</" are skipped to the next ">".
      resume = afterNext(html, '>', open + 2);
    } else if (next === '/') {
      const close = html.indexOf('>', open + 2);
      if (close === -1) return;
      yield { kind: 'end', name: tagName(html, open + 2) };
      resume = close + 1;
    } else if (isAsciiLetter(next)) {
      const tag = readStartTag(html, open + 1);
      if (tag === undefined) return;
      if (!TEXT_ELEMENTS.has(tag.start.name)) {
        yield tag.start;
        resume = tag.end;
      } else {
        // The text runs to the matching end tag, which the loop then reads as a tag of its own.
        const close = closingTag(html, tag.start.name, tag.end);
        const raw = html.slice(tag.end, close);
        const text = ESCAPABLE_TEXT_ELEMENTS.has(tag.start.name) ? decodeReferences(raw) : raw;
        yield { ...tag.start, text };
        resume = close;
      }
    } else {
      resume = open + 1; // a "<" that starts no tag is text
    }
    if (resume === -1) return;
    at = resume;
  }
}

/** Where a comment whose "<!--" ends just before `from` is over, or -1 if it never closes. */
function commentEnd(html: string, from: number): number {
  // "<!-->" and "<!--->" are empty comments to a browser.
  if (html.startsWith('>', from)) return from + 1;
  if (html.startsWith('->', from)) return from + 2;
  return afterNext(html, '-->', from);
}

function afterNext(html: string, needle: string, from: number): number {
  const found = html.indexOf(needle, from);
  return found === -1 ? -1 : found + needle.length;
}

/** The lower-cased tag name starting at `from`. */
function tagName(html: string, from: number): string {
  let end = from;
  while (end < html.length && !isSpace(html[end]) && html[end] !== '/' && html[end] !== '>') end++;
  return html.slice(from, end).toLowerCase();
}

/** Where the end tag of a text element begins, or the end of the input when it is never closed. */
function closingTag(html: string, name: string, from: number): number {
  const pattern = new RegExp(`</${name}[\\s/>]`, 'gi');
  pattern.lastIndex = from;
  return pattern.exec(html)?.index ?? html.length;
}

/** Reads a start tag whose name begins at `from`; undefined when the input ends inside it. */
function readStartTag(html: string, from: number): { start: StartTag; end: number } | undefined {
  const name = tagName(html, from);
  const attributes = new Map<string, string>();
  let at = from + name.length;
  let selfClosing = false;
  for (;;) {
    while (isSpace(html[at]) || html[at] === '/') {
      selfClosing = html[at] === '/';
      at++;
    }
    if (at >= html.length) return undefined;
    if (html[at] === '>') return { start: { kind: 'start', name, attributes, selfClosing }, end: at + 1 };
    selfClosing = false;

    // A name may begin with "=" (the tokenizer's rule); it runs to a space, "/", ">" or "=".
    const nameStart = at;
    at++;
    while (at < html.length && !isSpace(html[at]) && html[at] !== '/' && html[at] !== '>' && html[at] !== '=') at++;
    const attribute = html.slice(nameStart, at).toLowerCase();
    while (isSpace(html[at])) at++;

    let value = '';
    if (html[at] === '=') {
      at++;
      while (isSpace(html[at])) at++;
      const quote = html[at];
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, at + 1);
        if (close === -1) return undefined;
        value = html.slice(at + 1, close);
        at = close + 1;
      } else {
        const valueStart = at;
        while (at < html.length && !isSpace(html[at]) && html[at] !== '>') at++;
        value = html.slice(valueStart, at);
      }
    }
    if (!attributes.has(attribute)) attributes.set(attribute, decodeReferences(value));
  }
}

/** The named references pages use in titles and descriptions; others are left as written. */
const NAMED_REFERENCES = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
  ['nbsp', '\u00a0'],
]);

/** Numeric references need no ";" (browsers accept them without), named ones do. */
const REFERENCE = /&(?:#(\d+);?|#[xX]([\da-fA-F]+);?|([A-Za-z][A-Za-z\d]*);)/g;

/** Decodes character references: the few named ones above, and every decimal or hex numeric one. */
function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(
    REFERENCE,
    (reference: string, decimal: string | undefined, hex: string | undefined, name: string | undefined) => {
      if (decimal !== undefined) return fromCodePoint(Number.parseInt(decimal, 10));
      if (hex !== undefined) return fromCodePoint(Number.parseInt(hex, 16));
      return NAMED_REFERENCES.get(name ?? '') ?? reference;
    },
  );
}

/** A numeric reference's character; NUL, surrogates and numbers beyond Unicode become U+FFFD, as in browsers. */
function fromCodePoint(codePoint: number): string {
  const valid = codePoint > 0 && codePoint <= 0x10ffff && (codePoint < 0xd800 || codePoint > 0xdfff);
  return valid ? String.fromCodePoint(codePoint) : '\ufffd';
}

// ---------------------------------------------------------------------------------------------------------
// OpenGraph

/** What the scan found, raw but trimmed and never empty: the first value of each kind. */
interface Found {
  readonly og: Map<string, string>;
  readonly twitter: Map<string, string>;
  readonly images: string[];
  description?: string;
  title?: string;
  linkImage?: string;
  base?: string;
}

/**
 * The OpenGraph data of an HTML page at `pageUrl`.
 */
export function parseOpenGraph(html: string, pageUrl: URL): OpenGraph {
  return assemble(scanPage(html.slice(0, MAX_HTML_LENGTH), pageUrl), pageUrl);
}

/** Gathers the page's metadata, stopping once past the <head> with a title, a description and an image. */
function scanPage(html: string, pageUrl: URL): Found {
  const found: Found = { og: new Map(), twitter: new Map(), images: [] };
  let headPassed = false;
  let svgDepth = 0; // an <svg>'s <title> names a drawing, not the page
  for (const tag of scanTags(html)) {
    const before = progress(found);
    const wasInHead = !headPassed;
    if (tag.kind === 'end') {
      if (tag.name === 'head') headPassed = true;
      if (tag.name === 'svg') svgDepth = Math.max(0, svgDepth - 1);
    } else {
      if (tag.name === 'body') headPassed = true;
      if (tag.name === 'svg' && !tag.selfClosing) svgDepth++;
      if (tag.name !== 'title' || svgDepth === 0) note(found, tag);
    }
    // Completeness is only re-checked when something changed, so a body of a thousand <img> stays cheap.
    const changed = progress(found) > before || wasInHead;
    if (headPassed && changed && isComplete(found, pageUrl)) break;
  }
  return found;
}

/** How much the scan has recorded so far; it only grows, so a change shows as a larger number. */
function progress(found: Found): number {
  const fields = [found.description, found.title, found.linkImage, found.base].filter((field) => field !== undefined);
  return found.og.size + found.twitter.size + found.images.length + fields.length;
}

/** Records what one start tag says, keeping the first value of each kind. */
function note(found: Found, tag: StartTag): void {
  const attribute = (name: string): string | undefined => nonEmpty(tag.attributes.get(name));
  switch (tag.name) {
    case 'meta': {
      const content = attribute('content');
      if (content === undefined) return;
      // og: keys belong in property=, but many pages put them in name=; twitter: keys go either way too.
      for (const key of [attribute('property'), attribute('name')]) {
        const lower = key?.toLowerCase();
        if (lower?.startsWith('og:')) setFirst(found.og, lower, content);
        else if (lower?.startsWith('twitter:')) setFirst(found.twitter, lower, content);
        else if (lower === 'description') found.description ??= content;
      }
      return;
    }
    case 'title':
      found.title ??= nonEmpty(tag.text?.replace(/\s+/g, ' '));
      return;
    case 'link': {
      const rel = tag.attributes.get('rel')?.toLowerCase().split(/\s+/) ?? [];
      if (rel.includes('image_src')) found.linkImage ??= attribute('href');
      return;
    }
    case 'base':
      found.base ??= attribute('href');
      return;
    case 'img': {
      const src = attribute('src');
      if (src !== undefined && !/^data:/i.test(src) && found.images.length < MAX_IMG_CANDIDATES) found.images.push(src);
      return;
    }
  }
}

function setFirst(map: Map<string, string>, key: string, value: string): void {
  if (!map.has(key)) map.set(key, value);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

function titleOf(found: Found): string | undefined {
  return found.og.get('og:title') ?? found.twitter.get('twitter:title') ?? found.title;
}

function descriptionOf(found: Found): string | undefined {
  return found.og.get('og:description') ?? found.twitter.get('twitter:description') ?? found.description;
}

/** The preview image: the first candidate, best source first, that resolves to a web URL. */
function imageOf(found: Found, base: URL): { url: string; fromOpenGraph: boolean } | undefined {
  const declared = httpUrl(found.og.get('og:image'), base);
  if (declared !== undefined) return { url: declared, fromOpenGraph: true };
  const fallbacks = [
    found.twitter.get('twitter:image'),
    found.twitter.get('twitter:image:src'),
    found.linkImage,
    ...found.images,
  ];
  for (const candidate of fallbacks) {
    const url = httpUrl(candidate, base);
    if (url !== undefined) return { url, fromOpenGraph: false };
  }
  return undefined;
}

function isComplete(found: Found, pageUrl: URL): boolean {
  return (
    titleOf(found) !== undefined &&
    descriptionOf(found) !== undefined &&
    imageOf(found, baseOf(found, pageUrl)) !== undefined
  );
}

/** The URL relative links resolve against: the page's, or its <base href> when that is a web URL. */
function baseOf(found: Found, pageUrl: URL): URL {
  const base = httpUrl(found.base, pageUrl);
  return base === undefined ? pageUrl : new URL(base);
}

/** `raw` resolved against `base`, kept only as an http(s) URL: a client may fetch or link it. */
function httpUrl(raw: string | undefined, base: URL): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  const web = url.protocol === 'http:' || url.protocol === 'https:';
  return web && url.href.length <= MAX_URL_LENGTH ? url.href : undefined;
}

/** Cuts text to the cap, never through the middle of a surrogate pair. */
function capped(text: string): string {
  if (text.length <= MAX_VALUE_LENGTH) return text;
  const cut = text.slice(0, MAX_VALUE_LENGTH);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** A dimension as a number, when it is a positive integer written in digits. */
function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return number > 0 && Number.isSafeInteger(number) ? number : undefined;
}

/** Keys with a rule of their own below; every other og: key is copied as text. */
const DERIVED_KEYS = new Set(['og:title', 'og:description', 'og:image', 'og:image:width', 'og:image:height', 'og:url']);

function assemble(found: Found, pageUrl: URL): OpenGraph {
  const base = baseOf(found, pageUrl);
  const result: OpenGraph = {};
  for (const [key, value] of found.og) {
    if (!DERIVED_KEYS.has(key)) result[key] = capped(value);
  }

  const title = titleOf(found);
  if (title !== undefined) result['og:title'] = capped(title);
  const description = descriptionOf(found);
  if (description !== undefined) result['og:description'] = capped(description);

  const image = imageOf(found, base);
  if (image !== undefined) {
    result['og:image'] = image.url;
    // The declared size describes og:image; a fallback image has its own, unknown size.
    if (image.fromOpenGraph) {
      for (const key of ['og:image:width', 'og:image:height']) {
        const size = positiveInteger(found.og.get(key));
        if (size !== undefined) result[key] = size;
      }
    }
  }

  const url = httpUrl(found.og.get('og:url'), base);
  if (url !== undefined) result['og:url'] = url;
  return result;
}
