/**
 * What bin/fdleak.js loads before anything else, to get a second thread going before main.js,
 * commander and the rest are even loaded: for `fdleak diagnose <pid>` a worker that starts reading
 * the process's fd and socket tables (live/threads/proc-pid-worker.ts); for `fdleak scan` a worker
 * that shares the fd walk (live/threads/scan-helper.ts). argv is read with the option table of
 * options.ts (the one commander is built from). A bundle entry of its own, with node: built-ins only.
 */
import type { WalkHelper } from '../live/scan.js';
import type { ProcPidPrefetch } from '../live/threads/proc-pid-worker.js';
import { prefetchProcPid } from '../live/threads/proc-pid-worker.js';
import { startScanHelper } from '../live/threads/scan-helper.js';
import { Tail } from '../capture/tail.js';
import { parseArgv } from './options.js';

/** The second thread already at work, if any. */
export interface Prefetch {
  /** `diagnose <pid>`: its tables, being read. */
  procPid?: ProcPidPrefetch;
  /** `scan`: a helper waiting for its share of the walk. */
  scanHelper?: WalkHelper;
}

/**
 * Starts the second thread for `diagnose <pid>` or `scan` argv when a core is free to run it;
 * undefined for any other command, and on a busy machine (everything then runs on the main thread).
 */
export function prefetchFor(argv: readonly string[]): Prefetch | undefined {
  const parsed = parseArgv(argv);
  if (parsed === undefined) return undefined;
  if (parsed.command === 'analyze') {
    earlyTail = analyzeTail(parsed.args, parsed.options);
    return undefined;
  }
  if (parsed.command === 'diagnose') {
    const procRoot = parsed.options.get('--proc-root');
    const target = diagnoseTarget(parsed.args[0], typeof procRoot === 'string' ? procRoot : undefined);
    const procPid = target !== undefined && coreToSpare()
      ? prefetchProcPid(target.procRoot, target.pid, new URL('../cli/proc-pid-reader.cjs', import.meta.url))
      : undefined;
    return procPid === undefined ? undefined : { procPid };
  }
  // scan --sample walks on the main thread only (both reads in pid order): no helper to start.
  if (parsed.command !== 'scan' || parsed.options.has('--sample') || !coreToSpare()) return undefined;
  const scanHelper = startScanHelper(new URL('../cli/scan-worker.cjs', import.meta.url));
  // The walk of the live /proc handed out now: the helper starts on it as soon as it is up, while
  // main.js still loads (the scan takes it through offered()).
  if (scanHelper !== undefined && parsed.options.get('--proc-root') === '/proc') scanHelper.shareEarly('/proc');
  return scanHelper === undefined ? undefined : { scanHelper };
}

/**
 * Whether a second thread can get a core now: more than one core, and fewer tasks of other
 * processes runnable at this moment than cores beside ours (/proc/loadavg's "running" field, less
 * fdleak's own running threads), and a 1-minute load average below twice the cores (a busy box
 * can look idle for an instant). The helper costs ~30 ms of CPU to start and pays off only where
 * it gets to run: on the 2-vCPU lab VM, `scan` took 0.88x the time with it on an idle box, 1.05x
 * with one CPU-bound process running beside it; `diagnose` of 15,000 fds was 14% faster with it at
 * a load average of 2-2.6 (before this test was instantaneous), 3% slower at 4.6-5.2.
 */
export function coreToSpare(procRoot = '/proc'): boolean {
  const { availableParallelism, loadavg } = process.getBuiltinModule('node:os');
  const cores = availableParallelism();
  if (cores < 2 || loadavg()[0]! >= 2 * cores) return false;
  const others = runningElsewhere(procRoot);
  return others !== undefined && others <= cores - 2;
}

/** Runnable tasks now that are not fdleak's own threads; undefined if /proc does not say. */
export function runningElsewhere(procRoot = '/proc'): number | undefined {
  const { readFileSync, readdirSync } = process.getBuiltinModule('node:fs');
  try {
    const running = /^\S+ \S+ \S+ (\d+)\//.exec(readFileSync(`${procRoot}/loadavg`, 'latin1'));
    if (running === null) return undefined;
    let own = 0;
    for (const tid of readdirSync(`${procRoot}/self/task`)) {
      try {
        const stat = readFileSync(`${procRoot}/self/task/${tid}/stat`, 'latin1');
        if (stat[stat.lastIndexOf(') ') + 2] === 'R') own++;
      } catch {
        // a thread that just ended
      }
    }
    return Math.max(0, Number(running[1]) - own);
  } catch {
    return undefined;
  }
}

/**
 * The pid and --proc-root of `fdleak diagnose <pid>` as parseArgv read them; undefined where the pid
 * is not one (commander will say so).
 */
function diagnoseTarget(pid: string | undefined, procRoot: string | true | undefined): { pid: number; procRoot: string } | undefined {
  if (pid === undefined || !/^\d{1,7}$/.test(pid) || Number(pid) <= 0 || typeof procRoot !== 'string') return undefined;
  return { pid: Number(pid), procRoot };
}

/**
 * `analyze FILE` (one file, no --state or --port-range): the worker that reads a large lsof file's
 * second half (capture/tail.ts Tail.early), started now rather than once main.js has loaded and the
 * file's head is read. Handed to the analyze command through this module (takeEarlyTail), which
 * bin/fdleak.js and main.js's chunks share, not through main(): the command takes it only if it is
 * the worker it would have started, and ends it otherwise.
 */
let earlyTail: Tail | null = null;

function analyzeTail(args: readonly string[], options: ReadonlyMap<string, unknown>): Tail | null {
  if (args.length !== 1 || options.has('--state') || options.has('--port-range')) return null;
  const env = process.env.FDLEAK_ANALYZE_THREADS;
  const threads = env === '1' ? 1 : env === '2' ? 2 : 'auto';
  return Tail.early(args[0]!, threads, coreToSpare, new URL('../cli/analyze-worker.cjs', import.meta.url));
}

/** The analyze worker started at start-up, if any (once: the next call gets null). */
export function takeEarlyTail(): Tail | null {
  const tail = earlyTail;
  earlyTail = null;
  return tail;
}
