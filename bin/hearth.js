#!/usr/bin/env -S node --min-semi-space-size=16
// The `hearth` command: the compiled CLI when built (npm run build), else the TypeScript source via tsx.
// --min-semi-space-size: V8's young generation starts at 16 MB (its usual ceiling) instead of growing there
// under load and shrinking back when idle; a burst of requests after a quiet spell then does not meet a
// small young generation that collects every few milliseconds (the sync-latency bench: p50 about halved).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/main.js', import.meta.url);
if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
