/**
 * How a benchmark starts Hearth: as `npm start` does, the TypeScript compiled to dist/ (`npm run build`) and
 * run by node itself. Under tsx every function would carry a name property set at run time (esbuild's
 * keepNames), which a server creating closures per request pays for in allocation and garbage collection.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
let built = false;

/** node's arguments for `hearth ARGS...` from a fresh build: `nodeFlags` go before the script. */
export function hearthCommand(nodeFlags: readonly string[], args: readonly string[]): string[] {
  if (!built) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
    built = true;
  }
  return [...nodeFlags, join(ROOT, 'dist/main.js'), ...args];
}
