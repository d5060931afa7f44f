/**
 * `npm run bench -- NAME [args...]` runs bench/NAME.ts: its default export is an async function that
 * receives the remaining arguments and prints its own figures. A new bench is just a new file here.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  console.error(`${name === undefined ? 'No bench named.' : `No bench called "${name}".`} Available: ${available.join(', ')}`);
  console.error('Usage: npm run bench -- NAME');
  process.exit(1);
}

const module = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { default?: unknown };
if (typeof module.default !== 'function') {
  console.error(`bench/${name}.ts has no default export function`);
  process.exit(1);
}
await (module.default as (args: string[]) => Promise<void>)(args);
