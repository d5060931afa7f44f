import t from 'tap';
import { decodeHtml, parseOpenGraph } from '../../src/media/preview/opengraph.js';

const page = new URL('http://host/dir/page.html');
const parse = (html: string, url: URL = page) => parseOpenGraph(html, url);
const bytes = (...values: number[]) => Uint8Array.from(values);
const ascii = (text: string) => new TextEncoder().encode(text);

t.test('a typical page gives its title, type, url and image, the image resolved against the page', async (t) => {
  const html = `<!doctype html>
    <html><head>
      <meta charset="utf-8">
      <title>Ignored when og:title is set</title>
      <meta property="og:title" content="  The Rock  ">
      <meta property="og:type" content="video.movie">
      <meta property="og:url" content="https://www.imdb.com/title/tt0117500/">
      <meta property="og:image" content="test.png">
      <meta property="og:site_name" content="IMDb">
    </head><body><p>Hello</p></body></html>`;
  t.same(parse(html), {
    'og:title': 'The Rock',
    'og:type': 'video.movie',
    'og:url': 'https://www.imdb.com/title/tt0117500/',
    'og:image': 'http://host/dir/test.png',
    'og:site_name': 'IMDb',
  });
});

t.test('og: keys are read from property= or name=, lower-cased, the first of each winning', async (t) => {
  t.same(parse('<meta name="og:title" content="By name">'), { 'og:title': 'By name' });
  t.same(parse('<meta property="OG:Title" content="Upper">'), { 'og:title': 'Upper' });
  t.same(parse('<meta property="og:title" content="First"><meta property="og:title" content="Second">'), {
    'og:title': 'First',
  });
  t.same(parse('<meta name="og:title" content="First"><meta property="og:title" content="Second">'), {
    'og:title': 'First',
  });
  t.same(parse('<meta property="og:title" content="   "><meta property="og:title" content="Real">'), {
    'og:title': 'Real',
  }, 'an empty value does not hide a later one');
  t.same(parse('<meta property="article:author" content="x"><meta property="og:title">'), {}, 'other keys and missing content are ignored');
});

t.test('character references are decoded in attributes and the title; unknown names are left alone', async (t) => {
  t.same(
    parse('<meta property="og:title" content="Tom &amp; Jerry &lt;3 &quot;hi&quot; it&apos;s it&#39;s &#x263A; &#9731;&nbsp;&copy; &bogus; a &amp b">'),
    { 'og:title': 'Tom & Jerry <3 "hi" it\'s it\'s \u263a \u2603\u00a0&copy; &bogus; a &amp b' },
  );
  t.same(parse('<title>  Fish\n   &amp;\tChips  </title>'), { 'og:title': 'Fish & Chips' }, 'whitespace collapsed');
  t.same(parse('<meta property="og:title" content="&#0;&#xD800;&#99999999;">'), { 'og:title': '\ufffd\ufffd\ufffd' });
});

t.test('og:image:width and og:image:height are numbers when positive integers, dropped otherwise', async (t) => {
  const html = (width: string, height: string) =>
    `<meta property="og:image" content="/a.png"><meta property="og:image:width" content="${width}"><meta property="og:image:height" content="${height}">`;
  t.same(parse(html(' 800 ', '600')), { 'og:image': 'http://host/a.png', 'og:image:width': 800, 'og:image:height': 600 });
  t.same(parse(html('wide', '0')), { 'og:image': 'http://host/a.png' });
  t.same(parse(html('12.5', '-3')), { 'og:image': 'http://host/a.png' });
});

t.test('values are capped at 1000 characters', async (t) => {
  const result = parse(`<meta property="og:description" content="${'x'.repeat(5000)}">`);
  t.equal(result['og:description'], 'x'.repeat(1000));
  const emoji = parse(`<meta property="og:description" content="${'x'.repeat(999)}\u{1f600}">`);
  t.equal(emoji['og:description'], 'x'.repeat(999), 'a surrogate pair is not cut in half');
});

t.test('the title falls back to twitter:title, then to <title>', async (t) => {
  t.same(parse('<title>Page</title><meta name="twitter:title" content="Tweet">'), { 'og:title': 'Tweet' });
  t.same(parse('<title>Page</title>'), { 'og:title': 'Page' });
  t.same(parse('<title>   </title>'), {}, 'no empty strings');
  t.same(parse('<body><svg><title>Icon</title></svg></body>'), {}, 'an SVG title names a drawing, not the page');
});

t.test('the description falls back to twitter:description, then to <meta name=description>', async (t) => {
  t.same(parse('<meta name="description" content="Plain"><meta name="twitter:description" content="Tweet">'), {
    'og:description': 'Tweet',
  });
  t.same(parse('<meta name="description" content="Plain">'), { 'og:description': 'Plain' });
  t.same(parse('<meta property="og:description" content="OG"><meta name="description" content="Plain">'), {
    'og:description': 'OG',
  });
});

t.test('the image falls back to twitter:image, image_src, then the first <img> that is not data:', async (t) => {
  t.same(parse('<meta name="twitter:image" content="/t.png"><link rel="image_src" href="/l.png">'), {
    'og:image': 'http://host/t.png',
  });
  t.same(parse('<meta name="twitter:image:src" content="/s.png">'), { 'og:image': 'http://host/s.png' });
  t.same(parse('<link rel="Shortcut image_src" href="l.png"><body><img src="i.png">'), {
    'og:image': 'http://host/dir/l.png',
  });
  t.same(parse('<body><img src="data:image/png;base64,AAAA"><img alt="none"><img src="//cdn.example/i.png">'), {
    'og:image': 'http://cdn.example/i.png',
  });
  t.same(parse('<body><img src="data:image/png;base64,AAAA"></body>'), {});
});

t.test('<base href> changes what relative URLs resolve against', async (t) => {
  t.same(parse('<base href="https://cdn.example/assets/"><meta property="og:image" content="pic.jpg"><meta property="og:url" content="/p">'), {
    'og:image': 'https://cdn.example/assets/pic.jpg',
    'og:url': 'https://cdn.example/p',
  });
  t.same(parse('<base href="/other/"><body><img src="pic.jpg">'), { 'og:image': 'http://host/other/pic.jpg' });
  t.same(parse('<base href="javascript:alert(1)//"><meta property="og:image" content="pic.jpg">'), {
    'og:image': 'http://host/dir/pic.jpg',
  }, 'a base that is no web URL is ignored');
});

t.test('only http and https URLs are kept for og:image and og:url', async (t) => {
  t.same(parse('<meta property="og:image" content="javascript:alert(1)"><meta property="og:title" content="T">'), {
    'og:title': 'T',
  });
  t.same(parse('<meta property="og:image" content="data:image/png;base64,AAAA">'), {});
  t.same(parse('<meta property="og:image" content="http://[bad"><meta property="og:url" content="ftp://host/x">'), {});
  t.same(parse('<meta property="og:image" content="javascript:x"><meta name="twitter:image" content="https://t/i.png">'), {
    'og:image': 'https://t/i.png',
  }, 'an unusable og:image gives way to the next candidate');
  t.same(
    parse('<meta property="og:image" content="javascript:x"><meta property="og:image:width" content="9"><body><img src="i.png">'),
    { 'og:image': 'http://host/dir/i.png' },
    'the declared size is not claimed for a fallback image',
  );
});

t.test('meta tags inside scripts, styles and comments are not read', async (t) => {
  t.same(
    parse(`<head>
      <script>var s = '<meta property="og:title" content="script">';</script>
      <style>/* <meta property="og:title" content="style"> */</style>
      <!-- <meta property="og:title" content="comment"> -->
      <SCRIPT type="text/x-template"><meta property="og:description" content="template"></SCRIPT >
      <meta property="og:title" content="real">
    </head>`),
    { 'og:title': 'real' },
  );
  t.same(parse('<!--><meta property="og:title" content="after empty comment">'), {
    'og:title': 'after empty comment',
  });
});

t.test('attributes may be single-quoted, unquoted or bare, names in any case', async (t) => {
  t.same(parse(`<meta property='og:title' content='It is "quoted"'>`), { 'og:title': 'It is "quoted"' });
  t.same(parse('<meta property=og:title content=Unquoted>'), { 'og:title': 'Unquoted' });
  t.same(parse('<meta hidden property = "og:title" data-x content="Bare before">'), { 'og:title': 'Bare before' });
  t.same(parse('<META PROPERTY="og:type" CONTENT="website"/><TITLE>Loud</TITLE>'), {
    'og:type': 'website',
    'og:title': 'Loud',
  });
  t.same(parse('<meta property="og:title" content="a" content="b">'), { 'og:title': 'a' }, 'the first attribute of a name wins');
});

t.test('scanning stops after </head> once title, description and image are found', async (t) => {
  const complete =
    '<head><title>T</title><meta name="description" content="D"><meta property="og:image" content="i.png"></head>';
  t.same(parse(`${complete}<body><meta property="og:type" content="late"></body>`), {
    'og:title': 'T',
    'og:description': 'D',
    'og:image': 'http://host/dir/i.png',
  });
  t.same(parse('<head><title>T</title></head><body><img src="i.png"><meta property="og:type" content="late">'), {
    'og:title': 'T',
    'og:image': 'http://host/dir/i.png',
    'og:type': 'late',
  }, 'without a description the scan goes on');
});

t.test('only the first MiB is read', async (t) => {
  const padding = 'x'.repeat(1 << 20);
  t.same(parse(`<title>Early</title>${padding}<meta property="og:type" content="late">`), { 'og:title': 'Early' });
});

t.test('malformed input never throws', async (t) => {
  const garbage = [
    '',
    '<',
    '</',
    '<!',
    '<!--',
    '<!-- never closed <meta property="og:title" content="x">',
    '<meta property="og:title" content="x',
    '<meta property="og:title" content="x"',
    "<meta property='og:title' content=x",
    '<title>unclosed title',
    '<script>unclosed <meta property="og:title" content="x">',
    '<meta =x ==y property="og:title" content="&#xFFFFFFFFFF;&#;&#x;&">',
    '<<<>>></ ></1><a\u0000b>\ud800',
    '</svg></svg><svg/><title>x</title>',
  ];
  for (const html of garbage) t.doesNotThrow(() => parse(html), JSON.stringify(html));
  t.same(parse('<title>unclosed title'), { 'og:title': 'unclosed title' });
  t.same(parse('<meta property="og:title" content="x'), {});

  // A deterministic stream of HTML-ish fragments, so a failure is repeatable.
  const fragments = ['<', '>', '</', '<!--', '-->', '"', "'", '=', ' ', 'meta', 'property', 'og:title', 'content', 'script', 'title', '&amp;', '&#', 'img', 'src', 'x'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let round = 0; round < 300; round++) {
    const html = Array.from({ length: 60 }, () => fragments[next() % fragments.length]).join('');
    const bytesOfRound = Uint8Array.from({ length: 200 }, () => next() % 256);
    t.doesNotThrow(() => parse(html));
    t.doesNotThrow(() => parse(decodeHtml(bytesOfRound, undefined)));
  }
});

t.test('decodeHtml takes the charset from the Content-Type header', async (t) => {
  const cafe = bytes(0x63, 0x61, 0x66, 0xe9); // "café" in ISO-8859-1
  t.equal(decodeHtml(cafe, 'text/html; charset=iso-8859-1'), 'café');
  t.equal(decodeHtml(cafe, 'text/html; Charset="ISO-8859-1"'), 'café');
  t.equal(decodeHtml(ascii('café'), 'text/html; charset=utf-8'), 'café');
});

t.test('decodeHtml reads <meta charset> and <meta http-equiv> from the first bytes', async (t) => {
  const withMeta = (meta: string) => Uint8Array.from([...ascii(`<html><head>${meta}<title>caf`), 0xe9, ...ascii('</title>')]);
  t.match(decodeHtml(withMeta('<meta charset="windows-1252">'), undefined), /<title>café<\/title>/);
  t.match(decodeHtml(withMeta("<META CHARSET='latin1'>"), 'text/html'), /<title>café<\/title>/);
  t.match(
    decodeHtml(withMeta('<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'), undefined),
    /<title>café<\/title>/,
  );
  t.match(decodeHtml(withMeta('<!-- <meta charset="latin1"> -->'), undefined), /<title>caf\ufffd<\/title>/, 'a commented-out meta is ignored');
  const late = Uint8Array.from([...ascii(' '.repeat(3000)), ...withMeta('<meta charset="latin1">')]);
  t.match(decodeHtml(late, undefined), /caf\ufffd/, 'a meta past the first 2048 bytes is not seen');
  t.equal(decodeHtml(withMeta('<meta charset="utf-16">'), undefined).includes('caf\ufffd'), true, 'a UTF-16 claim in ASCII markup means UTF-8');
});

t.test('decodeHtml honours a byte order mark and strips it', async (t) => {
  t.equal(decodeHtml(Uint8Array.from([0xef, 0xbb, 0xbf, ...ascii('café')]), undefined), 'café');
  t.equal(decodeHtml(bytes(0xff, 0xfe, 0x68, 0x00, 0x69, 0x00), undefined), 'hi');
  t.equal(decodeHtml(bytes(0xfe, 0xff, 0x00, 0x68, 0x00, 0x69), 'text/html'), 'hi');
});

t.test('decodeHtml falls back to UTF-8 for unknown or missing labels and never throws', async (t) => {
  t.equal(decodeHtml(ascii('café'), 'text/html; charset=no-such-charset'), 'café');
  t.equal(decodeHtml(ascii('<meta charset="klingon">café'), undefined), '<meta charset="klingon">café');
  t.equal(decodeHtml(ascii('café'), undefined), 'café');
  t.equal(decodeHtml(bytes(0x63, 0xff, 0xfe), 'text/html; charset=utf-8'), 'c\ufffd\ufffd');
  t.equal(decodeHtml(bytes(), 'text/html; charset='), '');
  t.equal(decodeHtml(ascii('x'), 'text/html; charset=iso-2022-kr'), 'x', 'the "replacement" encoding is refused');
});
