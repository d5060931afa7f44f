/**
 * The `multipart/mixed` body of the federation media endpoints (server-server API, "Content
 * Repository"): a JSON metadata part, then the content itself (or a part whose Location header says where
 * to fetch it). Pure: bytes in, bytes out.
 */

export interface MultipartPart {
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The framing around the content of a federation media answer: send `head`, the bytes, then `tail`. */
export function multipartFraming(boundary: string, contentType: string, disposition: string): { contentType: string; head: Buffer; tail: Buffer } {
  return {
    contentType: `multipart/mixed; boundary=${boundary}`,
    head: Buffer.from(
      `--${boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n` +
        `--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Disposition: ${disposition}\r\n\r\n`,
      'latin1',
    ),
    tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  };
}

/** The boundary parameter of a multipart Content-Type header, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/mixed\s*;/i.test(contentType.trim())) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** Splits a multipart body into its parts; throws when it is not framed by `boundary`. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  let at = body.indexOf(delimiter);
  if (at < 0) throw new Error('the body has no multipart boundary');
  const parts: MultipartPart[] = [];
  for (;;) {
    at += delimiter.length;
    // `--` after a delimiter closes the body.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts;
    const lineEnd = body.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) throw new Error('a multipart delimiter line does not end');
    const headersEnd = body.indexOf('\r\n\r\n', lineEnd, 'latin1');
    // A part with no headers has its blank line straight after the delimiter line.
    const noHeaders = body[lineEnd + 2] === 0x0d && body[lineEnd + 3] === 0x0a;
    const contentStart = noHeaders ? lineEnd + 4 : headersEnd + 4;
    if (!noHeaders && headersEnd < 0) throw new Error('a multipart part has no end to its headers');
    const headers: Record<string, string> = {};
    if (!noHeaders) {
      for (const line of body.subarray(lineEnd + 2, headersEnd).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n', 'latin1'), delimiter]), contentStart);
    if (next < 0) throw new Error('a multipart part does not end');
    parts.push({ headers, body: body.subarray(contentStart, next) });
    at = next + 2;
  }
}
