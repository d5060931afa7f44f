/**
 * CPU time by process group, read from Linux's /proc, so a benchmark can say where a machine's cores went
 * while it measured: the server under test, PostgreSQL's backends, the benchmark's own clients, and the
 * machine as a whole. Elsewhere (no /proc) every reading is null and nothing is printed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

interface Reading {
  /** Seconds of CPU of each group, and of the whole machine (busy and all). */
  readonly server: number;
  readonly postgres: number;
  readonly self: number;
  readonly machineBusy: number;
  readonly machineAll: number;
  readonly at: number;
}

/** Clock ticks a second: USER_HZ, 100 on every Linux that Node runs on. */
const TICKS = 100;

function processSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th of them.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0; // gone meanwhile
  }
}

/** Every process whose command is `postgres` (the postmaster and its backends). */
function postgresSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += processSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

function machineSeconds(): { busy: number; all: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / TICKS, all: (busy + idle! + iowait!) / TICKS };
}

function read(serverPid: number): Reading | null {
  try {
    const machine = machineSeconds();
    return {
      server: processSeconds(serverPid),
      postgres: postgresSeconds(),
      self: processSeconds(process.pid),
      machineBusy: machine.busy,
      machineAll: machine.all,
      at: performance.now(),
    };
  } catch {
    return null; // no /proc
  }
}

/**
 * Starts measuring; the returned function stops and describes the cores each group used meanwhile, with
 * the server's CPU seconds. A backend that ended during the span drops out of the PostgreSQL sum (a
 * server's pool keeps its connections open, so few do).
 */
export function measureCpu(serverPid: number, serverName: string): () => { readonly line: string; readonly serverSeconds: number } | null {
  const start = read(serverPid);
  return () => {
    const end = read(serverPid);
    if (start === null || end === null) return null;
    const seconds = (end.at - start.at) / 1000;
    const cores = (a: number, b: number) => ((b - a) / seconds).toFixed(2);
    const machine = (end.machineBusy - start.machineBusy) / ((end.machineAll - start.machineAll) / cpus().length);
    return {
      line:
        `cores used while sending (of ${cpus().length}): ${serverName} ${cores(start.server, end.server)}, ` +
        `PostgreSQL ${cores(start.postgres, end.postgres)}, benchmark clients ${cores(start.self, end.self)}, ` +
        `whole machine ${machine.toFixed(2)}`,
      serverSeconds: end.server - start.server,
    };
  };
}
