#!/usr/bin/env node
// Summarises a sytest run: passed, failed, skipped and total, overall and by area.
//
//   node summarize.mjs RESULTS_DIR [WHITELIST]
//
// Reads RESULTS_DIR/results.tap (sytest's -O tap standard output) and RESULTS_DIR/progress.log (its
// standard error, which names each test file before its tests), and writes, in RESULTS_DIR:
//   summary.txt            the table by area (also printed)
//   failing-by-area.txt    the failing test names by area, each with the first line of its reason,
//                          marked [needs federation] where it does
//   passing.txt            the passing test names in sytest's -W whitelist format, by area
// An area is a test file's top folder or file under tests/ (10apidoc, 11register, 30rooms, ...).
// With WHITELIST, it also lists whitelisted tests that failed and passing tests not yet whitelisted.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [resultsDir, whitelistFile] = process.argv.slice(2);
if (!resultsDir) {
  process.stderr.write('usage: summarize.mjs RESULTS_DIR [WHITELIST]\n');
  process.exit(2);
}

const tap = readFileSync(path.join(resultsDir, 'results.tap'), 'utf8').split('\n');
const progressFile = path.join(resultsDir, 'progress.log');
const progress = existsSync(progressFile) ? readFileSync(progressFile, 'utf8').split('\n') : [];

// Test number -> test file, from the progress lines ("tests/11register.pl:" then "    Test 12 ...").
const fileOf = new Map();
let currentFile = 'unknown';
for (const line of progress) {
  const file = /^(tests\/\S+):$/.exec(line);
  if (file) currentFile = file[1];
  const test = /^\s+Test (\d+) /.exec(line);
  if (test) fileOf.set(Number(test[1]), currentFile);
}

// A failure needs federation when its report shows a federation request or Hearth's refusal to reach
// another server (Hearth has no outbound federation yet), or when it is in the federation area.
const NEEDS_FEDERATION = /federation is not available|\/_matrix\/federation\/|\/_matrix\/key\/v2\//;

const areaOf = (file) => {
  const m = /^tests\/([^/]+)/.exec(file);
  return m ? m[1].replace(/\.pl$/, '') : 'unknown';
};

/** @type {{num: number, name: string, result: 'pass'|'fail'|'skip', area: string, reason?: string}[]} */
const results = [];
for (const line of tap) {
  // The first diagnostic line after a failure is its reason (after the Started and Ended times).
  const last = results.at(-1);
  if (last?.result === 'fail' && /^# /.test(line) && !/^# (Started|Ended): /.test(line)) {
    last.reason ??= line.slice(2);
    if (NEEDS_FEDERATION.test(line)) last.federation = true;
    continue;
  }
  // Top-level results only; a multi-test's steps are indented.
  const m = /^(ok|not ok) (\d+) (.*)$/.exec(line);
  if (!m) continue;
  const num = Number(m[2]);
  let rest = m[3];
  let result = m[1] === 'ok' ? 'pass' : 'fail';
  const skip = / # skip( .*)?$/.exec(rest);
  if (result === 'pass' && skip) {
    result = 'skip';
    rest = rest.slice(0, skip.index);
  }
  rest = rest.replace(/^\(expected fail\) /, '').replace(/ # TODO (passed but expected fail|expected fail)$/, '');
  if (result === 'pass') rest = rest.replace(/ \(\d+ subtests\)$/, '');
  const area = areaOf(fileOf.get(num) ?? 'unknown');
  results.push({ num, name: rest, result, area, federation: result === 'fail' && area === '50federation' });
}

const areas = new Map();
const total = { pass: 0, fail: 0, skip: 0, fed: 0 };
for (const r of results) {
  if (!areas.has(r.area)) areas.set(r.area, { pass: 0, fail: 0, skip: 0, fed: 0, failing: [], passing: [] });
  const a = areas.get(r.area);
  a[r.result]++;
  total[r.result]++;
  if (r.federation) {
    a.fed++;
    total.fed++;
  }
  if (r.result === 'fail') a.failing.push(r);
  if (r.result === 'pass') a.passing.push(r.name);
}

const sortedAreas = [...areas.keys()].sort();
const row = (label, c) =>
  `${label.padEnd(22)} ${String(c.pass).padStart(6)} ${String(c.fail).padStart(6)} ${String(c.skip).padStart(7)} ${String(c.pass + c.fail + c.skip).padStart(6)} ${String(c.fed).padStart(10)}`;
const lines = [
  existsSync(path.join(resultsDir, 'run-info.txt')) ? readFileSync(path.join(resultsDir, 'run-info.txt'), 'utf8').trim() : `sytest results from ${path.resolve(resultsDir)}`,
  '',
  `${'area'.padEnd(22)} ${'passed'.padStart(6)} ${'failed'.padStart(6)} ${'skipped'.padStart(7)} ${'total'.padStart(6)} ${'failed:fed'.padStart(10)}`,
  ...sortedAreas.map((a) => row(a, areas.get(a))),
  row('all', total),
  '',
  'failed:fed = failures that need federation (a federation request in the report, Hearth refusing to reach',
  'the other server, or a test in 50federation).',
];
const planned = tap.map((l) => /^1\.\.(\d+)$/.exec(l)).find(Boolean);
if (!planned) lines.push('', 'No "1..N" plan line: the run did not finish (see progress.log).');

if (whitelistFile && existsSync(whitelistFile)) {
  const whitelisted = new Set(
    readFileSync(whitelistFile, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean),
  );
  const regressions = results.filter((r) => r.result === 'fail' && whitelisted.has(r.name));
  const newlyPassing = results.filter((r) => r.result === 'pass' && !whitelisted.has(r.name));
  lines.push('', `Whitelisted but failed (${regressions.length}):`, ...regressions.map((r) => `  ${r.area}: ${r.name}`));
  lines.push('', `Passed but not whitelisted yet (${newlyPassing.length}):`, ...newlyPassing.map((r) => `  ${r.area}: ${r.name}`));
}

const summary = lines.join('\n') + '\n';
writeFileSync(path.join(resultsDir, 'summary.txt'), summary);
process.stdout.write(summary);

const failing = sortedAreas
  .filter((a) => areas.get(a).failing.length > 0)
  .map((a) => {
    const reason = (r) => (r.reason ?? '').replace(/access_token=[^&\s)]+/g, 'access_token=…').slice(0, 300);
    const names = areas.get(a).failing.map((r) => `${r.federation ? '[needs federation] ' : ''}${r.name}\n    ${reason(r)}`);
    return `## ${a} (${areas.get(a).failing.length} failing, ${areas.get(a).fed} needing federation)\n${names.join('\n')}\n`;
  });
writeFileSync(path.join(resultsDir, 'failing-by-area.txt'), failing.join('\n'));

// sytest strips '#' comments from whitelist lines, so a name with '#' in it cannot be listed.
const passing = sortedAreas
  .filter((a) => areas.get(a).passing.length > 0)
  .map((a) => `# ${a}\n${[...new Set(areas.get(a).passing.filter((n) => !n.includes('#')))].join('\n')}\n`);
writeFileSync(path.join(resultsDir, 'passing.txt'), passing.join('\n'));
