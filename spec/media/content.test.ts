import t from 'tap';
import {
  boundaryOf,
  contentDisposition,
  fileNameOf,
  isMediaId,
  multipartFraming,
  normaliseContentType,
  normaliseFileName,
  parseMultipart,
  thumbnailSizeFor,
} from '../../src/media/index.js';

t.test('media ids keep to the spec\'s letters, digits, _ and -', async (t) => {
  t.ok(isMediaId('AbC_12-x'));
  for (const bad of ['', '../etc', 'a/b', 'a.b', 'é', 'x'.repeat(256), 'a%2Fb']) t.notOk(isMediaId(bad), JSON.stringify(bad));
});

t.test('content types are kept when well formed, else served as octet-stream', async (t) => {
  t.equal(normaliseContentType('image/png'), 'image/png');
  t.equal(normaliseContentType('text/plain; charset=utf-8'), 'text/plain; charset=utf-8');
  t.equal(normaliseContentType(undefined), 'application/octet-stream');
  t.equal(normaliseContentType('not a type'), 'application/octet-stream');
  t.equal(normaliseContentType('text/html\r\nX-Evil: 1'), 'application/octet-stream', 'no header injection');
});

t.test('file names lose paths and control characters', async (t) => {
  t.equal(normaliseFileName('../../etc/passwd'), 'passwd');
  t.equal(normaliseFileName('C:\\Users\\me\\cat.png'), 'cat.png');
  t.equal(normaliseFileName('a\nb.txt'), 'ab.txt');
  t.equal(normaliseFileName('   '), null);
  t.equal(normaliseFileName(undefined), null);
});

t.test('Content-Disposition: inline only for the spec\'s safe types, names quoted or RFC 6266-encoded', async (t) => {
  t.equal(contentDisposition('image/png', 'cat.png'), 'inline; filename="cat.png"');
  t.equal(contentDisposition('IMAGE/PNG; x=y', null), 'inline');
  t.equal(contentDisposition('text/html', 'page.html'), 'attachment; filename="page.html"', 'HTML never renders inline');
  t.equal(contentDisposition('image/svg+xml', 'a.svg'), 'attachment; filename="a.svg"', 'SVG can hold script');
  t.equal(contentDisposition('application/pdf', 'say "hi".pdf'), 'attachment; filename="say \\"hi\\".pdf"');
  t.equal(contentDisposition('text/plain', 'naïve café.txt'), "inline; filename*=utf-8''na%C3%AFve%20caf%C3%A9.txt");
  t.equal(fileNameOf("inline; filename*=utf-8''na%C3%AFve%20caf%C3%A9.txt"), 'naïve café.txt', 'and read back');
  t.equal(fileNameOf('attachment; filename="say \\"hi\\".pdf"'), 'say "hi".pdf');
  t.equal(fileNameOf('inline; filename=plain.txt'), 'plain.txt');
  t.equal(fileNameOf('inline'), null);
});

t.test('the federation multipart body reads back as its metadata and content parts', async (t) => {
  const framing = multipartFraming('b0und_ary-1', 'image/png', 'inline; filename="x.png"');
  const content = Buffer.from([0, 1, 2, 13, 10, 45, 45, 255]);
  const body = Buffer.concat([framing.head, content, framing.tail]);
  const boundary = boundaryOf(framing.contentType);
  t.equal(boundary, 'b0und_ary-1');
  const parts = parseMultipart(body, boundary!);
  t.equal(parts.length, 2);
  t.same(JSON.parse(parts[0]!.body.toString()), {});
  t.same(parts[1]!.headers, { 'content-type': 'image/png', 'content-disposition': 'inline; filename="x.png"' });
  t.ok(parts[1]!.body.equals(content), 'bytes that look like line breaks and dashes survive');

  t.equal(boundaryOf('multipart/mixed; boundary="quoted"'), 'quoted');
  t.equal(boundaryOf('application/json'), undefined);
  const located = parseMultipart(Buffer.from('--x\r\n\r\n{}\r\n--x\r\nLocation: https://cdn.example/a\r\n\r\n\r\n--x--\r\n'), 'x');
  t.same(located[0]!.headers, {}, 'a part without headers');
  t.equal(located[1]!.headers.location, 'https://cdn.example/a');
  t.throws(() => parseMultipart(Buffer.from('no boundary here'), 'x'));
  t.throws(() => parseMultipart(Buffer.from('--x\r\nContent-Type: a/b\r\n\r\nnever ends'), 'x'));
});

t.test('thumbnail sizes come from the spec\'s list, else rounded up and capped', async (t) => {
  t.same(thumbnailSizeFor(32, 32, 'crop'), { width: 32, height: 32, method: 'crop' });
  t.same(thumbnailSizeFor(40, 20, 'crop'), { width: 96, height: 96, method: 'crop' });
  t.same(thumbnailSizeFor(300, 200, 'scale'), { width: 320, height: 240, method: 'scale' });
  t.same(thumbnailSizeFor(801, 600, 'scale'), { width: 900, height: 600, method: 'scale' }, 'never smaller than asked');
  t.same(thumbnailSizeFor(100000, 5, 'scale'), { width: 2000, height: 100, method: 'scale' });
});
