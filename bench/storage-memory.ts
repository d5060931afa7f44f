/**
 * Resident memory of the embedded engine. Each scenario runs in a fresh child process (RSS is per process
 * and never shrinks much), on a new data directory and then again on the existing one:
 *
 * - stock PGlite: PGlite.create(dir) with its defaults, initdb in-process (what we started from);
 * - Hearth: openDatabase({ url: null }) with initdb in a worker and the EMBEDDED_SETTINGS.
 *
 * The workload is the same for both: 50k rows with an index, 2k point lookups, a grouped scan.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Scenario = 'stock' | 'hearth';

interface Figures {
  scenario: string;
  baseMb: number;
  openMb: number;
  workMb: number;
  closedMb: number;
  peakMb: number;
  openMs: number;
}

const WORKLOAD = [
  'create table if not exists bench (id bigint primary key, room text not null, body text not null)',
  `insert into bench select g, 'room' || (g % 100), repeat(md5(g::text), 4) from generate_series(1, 50000) g
     on conflict do nothing`,
  'create index if not exists bench_room on bench (room)',
];

const mb = (bytes: number): number => Math.round(bytes / 1e6);

async function child(scenario: Scenario, dataDir: string, label: string): Promise<Figures> {
  const baseMb = mb(process.memoryUsage().rss);
  const started = performance.now();
  let query: (text: string, params?: unknown[]) => Promise<unknown>;
  let close: () => Promise<void>;
  if (scenario === 'stock') {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create({ dataDir });
    query = (text, params) => db.query(text, params);
    close = () => db.close();
  } else {
    const { openDatabase } = await import('../src/storage/index.js');
    const { silentLogger } = await import('../src/platform/logger.js');
    const db = await openDatabase({ url: null, dataDir, log: silentLogger() });
    // postgres.js types parameters per call; the bench passes plain numbers and strings.
    query = (text, params) => db.sql.unsafe(text, params as (string | number)[]);
    close = () => db.close();
  }
  const openMs = Math.round(performance.now() - started);
  const openMb = mb(process.memoryUsage().rss);
  for (const statement of WORKLOAD) await query(statement);
  for (let i = 0; i < 2000; i++) await query('select body from bench where id = $1', [1 + ((i * 7919) % 50000)]);
  await query('select room, count(*) from bench group by room order by 2 desc limit 5');
  const workMb = mb(process.memoryUsage().rss);
  await close();
  const closedMb = mb(process.memoryUsage().rss);
  const peakMb = Math.round(process.resourceUsage().maxRSS / 1000);
  return { scenario: label, baseMb, openMb, workMb, closedMb, peakMb, openMs };
}

function runChild(scenario: Scenario, dataDir: string, label: string): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, HEARTH_BENCH_CHILD: JSON.stringify({ scenario, dataDir, label }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Figures);
      else reject(new Error(`bench child ${label} exited with ${code}: ${out}`));
    });
  });
}

export default async function storageMemory(): Promise<void> {
  const rows: Figures[] = [];
  for (const scenario of ['stock', 'hearth'] as const) {
    const dataDir = mkdtempSync(join(tmpdir(), `hearth-bench-${scenario}-`));
    try {
      const target = scenario === 'stock' ? join(dataDir, 'pgdata') : dataDir;
      rows.push(await runChild(scenario, target, `${scenario}, new data dir`));
      rows.push(await runChild(scenario, target, `${scenario}, reopen`));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log('RSS in MB (process total; "base" is node + tsx before the database opens)');
  console.log(['scenario'.padEnd(24), 'base', 'open', 'work', 'closed', 'peak', 'open ms'].join('\t'));
  for (const r of rows) {
    console.log([r.scenario.padEnd(24), r.baseMb, r.openMb, r.workMb, r.closedMb, r.peakMb, r.openMs].join('\t'));
  }
}

const childSpec = process.env.HEARTH_BENCH_CHILD;
if (childSpec !== undefined) {
  const { scenario, dataDir, label } = JSON.parse(childSpec) as { scenario: Scenario; dataDir: string; label: string };
  const figures = await child(scenario, dataDir, label);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
