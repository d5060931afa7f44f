/**
 * `npm test` runs the suite in a few parts (spec/parts/*.ts), each one process that imports many test
 * files, rather than one process per test file: a process costs seconds before its first test (tap's
 * loaders, tsx, importing the app, opening a first embedded database), which was half of the suite's
 * wall time. Every spec/**\/*.test.ts belongs to exactly one part, assigned here by weight (longest first,
 * each to the lightest part), so parts take about as long as each other and a new test file needs no list.
 *
 * A test file still runs alone: `npx tap spec/sync/sync.test.ts`. Test files in one part share the
 * process, so they must not leave state behind (servers closed, environment restored: tap's teardown).
 *
 * spec/parts/weights.json holds seconds per file as tap printed them (`# time=`); files absent weigh
 * DEFAULT_WEIGHT (files lighter than 1.5 s are left out). Refresh it after big changes with `node --import tsx spec/parts/weigh.ts < tap-output`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/platform/package-root.js';

const DEFAULT_WEIGHT = 0.5;
const PARTS_DIR = path.join('spec', 'parts');

/** Every test file under spec/, relative to the package root with forward slashes, sorted. */
export function testFiles(root = packageRoot()): string[] {
  return readdirSync(path.join(root, 'spec'), { recursive: true, encoding: 'utf8' })
    .map((file) => `spec/${file.split(path.sep).join('/')}`)
    .filter((file) => file.endsWith('.test.ts'))
    .sort();
}

/** The part files (spec/parts/*.ts but the weighing script), sorted: their count is the number of parts. */
export function partFiles(root = packageRoot()): string[] {
  return readdirSync(path.join(root, PARTS_DIR))
    .filter((file) => file.endsWith('.ts') && file !== 'weigh.ts')
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Splits files into `count` parts of about equal weight; the same inputs always give the same parts. */
export function assignParts(files: readonly string[], weights: Readonly<Record<string, number>>, count: number): string[][] {
  const parts = Array.from({ length: count }, () => ({ weight: 0, files: [] as string[] }));
  const weighed = files.map((file) => ({ file, weight: weights[file] ?? DEFAULT_WEIGHT }));
  weighed.sort((a, b) => b.weight - a.weight || a.file.localeCompare(b.file));
  for (const { file, weight } of weighed) {
    const lightest = parts.reduce((best, part) => (part.weight < best.weight ? part : best));
    lightest.weight += weight;
    lightest.files.push(file);
  }
  return parts.map((part) => part.files.sort());
}

/** Imports this part's test files in turn; their tests queue on tap's root and run in that order. */
export async function runPart(partUrl: string): Promise<void> {
  const root = packageRoot();
  const name = path.basename(fileURLToPath(partUrl));
  const parts = partFiles(root);
  const index = parts.indexOf(name);
  if (index < 0) throw new Error(`${name} is not a part file in ${PARTS_DIR}`);
  const weights = JSON.parse(readFileSync(path.join(root, PARTS_DIR, 'weights.json'), 'utf8')) as Record<string, number>;
  for (const file of assignParts(testFiles(root), weights, parts.length)[index]!) {
    await import(pathToFileURL(path.join(root, file)).href);
  }
}
