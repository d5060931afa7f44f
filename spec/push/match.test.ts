import t from 'tap';
import { ABSENT, globMatches, globMatchesWords, propertyAt, splitPropertyPath } from '../../src/push/index.js';

void t.test('dot-separated paths: \\. and \\\\ escape, other backslashes stay (appendices)', async (t) => {
  const table: Array<[string, string[]]> = [
    ['content.body', ['content', 'body']],
    ['content.m\\.relates_to', ['content', 'm.relates_to']],
    ['content.m\\\\foo', ['content', 'm\\foo']],
    ['content.m\\xfoo', ['content', 'm\\xfoo']],
    ['content.m\\.mentions.user_ids', ['content', 'm.mentions', 'user_ids']],
    ['type', ['type']],
  ];
  for (const [path, parts] of table) t.same(splitPropertyPath(path), parts, path);
});

void t.test('property lookup tells an absent property from null and does not walk into arrays', async (t) => {
  const event = { content: { 'm.relates_to': { rel_type: 'm.replace' }, topic: null, list: [{ a: 1 }] } };
  t.equal(propertyAt(event, 'content.m\\.relates_to.rel_type'), 'm.replace');
  t.equal(propertyAt(event, 'content.m.relates_to.rel_type'), ABSENT, 'an unescaped dot is a path step');
  t.equal(propertyAt(event, 'content.topic'), null);
  t.equal(propertyAt(event, 'content.missing'), ABSENT);
  t.equal(propertyAt(event, 'content.list.0.a'), ABSENT);
  t.equal(propertyAt(event, 'content.toString'), ABSENT, 'only own properties');
});

void t.test('event_match globs: the spec\'s content.topic example with pattern lunc?*', async (t) => {
  const table: Array<[string, boolean]> = [
    ['Lunch plans', true],
    ['LUNCH', true],
    [' lunch', false],
    ['lunc', false],
  ];
  for (const [topic, expected] of table) t.equal(globMatches('lunc?*', topic), expected, JSON.stringify(topic));
  t.ok(globMatches('m.notice', 'm.notice'));
  t.notOk(globMatches('m.notice', 'mxnotice'), 'a dot is literal');
  t.ok(globMatches('(a+)[b]', '(A+)[B]'), 'regex characters are literal');
  t.ok(globMatches('', ''));
  t.notOk(globMatches('', 'x'));
});

void t.test('content.body globs match at word boundaries: the spec\'s ex*ple example', async (t) => {
  const table: Array<[string, string, boolean]> = [
    ['ex*ple', 'An example event.', true],
    ['ex*ple', 'exple', true],
    ['ex*ple', 'An exciting triple-whammy', true],
    ['ex*ple', 'An examples event', false],
    ['cake', 'I like CAKE!', true],
    ['cake', 'cupcake', false],
    ['cake', 'cake_shop', false],
    ['cake', 'line one\ncake', true],
    ['ca?e', 'a cafe', true],
  ];
  for (const [pattern, body, expected] of table) t.equal(globMatchesWords(pattern, body), expected, `${pattern} in ${JSON.stringify(body)}`);
});
