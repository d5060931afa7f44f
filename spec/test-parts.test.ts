import t from 'tap';
import { readFileSync } from 'node:fs';
import { assignParts, partFiles, testFiles } from './helpers/parts.js';

t.test('npm test runs every test file exactly once', async (t) => {
  const files = testFiles();
  t.ok(files.includes('spec/test-parts.test.ts'), 'this file is found');
  t.notOk(files.some((file) => file.startsWith('spec/parts/')), 'the part files themselves are not test files');
  const weights = JSON.parse(readFileSync('spec/parts/weights.json', 'utf8')) as Record<string, number>;
  const parts = assignParts(files, weights, partFiles().length);
  t.ok(parts.length >= 2, `${parts.length} parts`);
  t.same(parts.flat().sort(), files, 'each file in exactly one part');
  t.ok(parts.every((part) => part.length > 0), 'no empty part');
  t.same(Object.keys(weights).filter((file) => !files.includes(file)), [], 'weights name only existing test files');
});

t.test('parts are balanced by weight and stable', async (t) => {
  const files = ['a.test.ts', 'b.test.ts', 'c.test.ts', 'd.test.ts', 'e.test.ts'];
  const weights = { 'a.test.ts': 10, 'b.test.ts': 6, 'c.test.ts': 5 };
  const parts = assignParts(files, weights, 2);
  t.same(parts, [['a.test.ts', 'd.test.ts', 'e.test.ts'], ['b.test.ts', 'c.test.ts']], 'longest first, each to the lightest part');
  t.same(assignParts([...files].reverse(), weights, 2), parts, 'the order files are listed in does not matter');
});
