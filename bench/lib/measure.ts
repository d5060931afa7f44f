/** Timing helpers shared by the benches: warm up, then count calls for a fixed wall-clock time. */
import { performance } from 'node:perf_hooks';

/** Results are written here so the optimiser cannot drop the calls being measured. */
export let sink: unknown;

interface Tally {
  calls: number;
  ms: number;
}

/** Calls `fn` for about `ms` milliseconds, adding to the tally. */
function runFor(fn: () => unknown, ms: number, tally: Tally): void {
  let batch = 1;
  let calls = 0;
  let elapsed = 0;
  const start = performance.now();
  // Read the clock once per batch, growing the batch so that clock reads stay a negligible share.
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) sink = fn();
    calls += batch;
    elapsed = performance.now() - start;
    if (elapsed < ms / 20) batch *= 2;
  }
  tally.calls += calls;
  tally.ms += elapsed;
}

function opsOf(tally: Tally): number {
  return (tally.calls * 1000) / tally.ms;
}

/** Calls per second of `fn`, over about `ms` milliseconds after a warm-up. */
export function opsPerSecond(fn: () => unknown, ms = 1000): number {
  const tally = { calls: 0, ms: 0 };
  runFor(fn, Math.min(250, ms / 4), { calls: 0, ms: 0 });
  runFor(fn, ms, tally);
  return opsOf(tally);
}

export interface Comparison {
  readonly name: string;
  readonly ours: number;
  readonly raw: number;
  /** Our time per call over the raw time per call: 1.5 means 50% slower than raw. */
  readonly ratio: number;
}

const NAME_WIDTH = 42;
const SLICES = 4;

/**
 * Measures our implementation against a raw baseline doing the same job, about `ms` milliseconds each,
 * and prints one line. The two run in alternating slices so that noise from other processes on the
 * machine falls on both alike.
 */
export function compare(name: string, ours: () => unknown, raw: () => unknown, ms = 1000): Comparison {
  const warmUp = { calls: 0, ms: 0 };
  runFor(ours, 200, warmUp);
  runFor(raw, 200, warmUp);
  const oursTally = { calls: 0, ms: 0 };
  const rawTally = { calls: 0, ms: 0 };
  for (let i = 0; i < SLICES; i++) {
    runFor(ours, ms / SLICES, oursTally);
    runFor(raw, ms / SLICES, rawTally);
  }
  const result = { name, ours: opsOf(oursTally), raw: opsOf(rawTally), ratio: opsOf(rawTally) / opsOf(oursTally) };
  console.log(
    `${name.padEnd(NAME_WIDTH)} ${formatOps(result.ours).padStart(12)} ${formatOps(result.raw).padStart(12)} ${result.ratio.toFixed(2).padStart(7)}x`,
  );
  return result;
}

export function printHeader(): void {
  console.log(`${'bench'.padEnd(NAME_WIDTH)} ${'Hearth op/s'.padStart(12)} ${'raw op/s'.padStart(12)} ${'ratio'.padStart(8)}`);
}

function formatOps(ops: number): string {
  return Math.round(ops).toLocaleString('en-US');
}
