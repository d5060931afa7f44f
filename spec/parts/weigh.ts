/**
 * Writes spec/parts/weights.json from tap's output read on stdin: the seconds tap printed for each test
 * file (`ok N - spec/....test.ts # time=...ms`), for files run one per process (`npx tap spec/**\/*.test.ts`).
 * Files under DEFAULT_WEIGHT are left out; spec/helpers/parts.ts gives them the default.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/platform/package-root.js';

const SMALLEST = 1.5;

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const weights: Record<string, number> = {};
for (const match of input.matchAll(/^(?:not )?ok \d+ - (spec\/\S+\.test\.ts) # time=([\d.]+)ms/gm)) {
  const seconds = Math.round(Number(match[2]) / 100) / 10;
  if (seconds >= SMALLEST) weights[match[1]!] = seconds;
}
const sorted = Object.fromEntries(Object.entries(weights).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(path.join(packageRoot(), 'spec', 'parts', 'weights.json'), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`${Object.keys(sorted).length} files weighed`);
