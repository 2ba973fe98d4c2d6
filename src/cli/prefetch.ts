/**
 * What bin/fdleak.js loads before anything else, to get a second thread going before main.js,
 * commander and the rest are even loaded: for `fdleak diagnose <pid>` a worker that starts reading
 * the process's fd and socket tables (live/threads/proc-pid-worker.ts); for `fdleak scan` a worker
 * that shares the fd walk (live/threads/scan-helper.ts). A bundle entry of its own, with node:
 * built-ins only.
 */
import type { WalkHelper } from '../live/scan.js';
import type { ProcPidPrefetch } from '../live/threads/proc-pid-worker.js';
import { prefetchProcPid } from '../live/threads/proc-pid-worker.js';
import { startScanHelper } from '../live/threads/scan-helper.js';

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
  const target = diagnoseTarget(argv);
  if (target !== undefined) {
    const procPid = coreToSpare() ? prefetchProcPid(target.procRoot, target.pid) : undefined;
    return procPid === undefined ? undefined : { procPid };
  }
  if (!isScan(argv) || !coreToSpare()) return undefined;
  const scanHelper = startScanHelper(new URL('./scan-worker.js', import.meta.url));
  return scanHelper === undefined ? undefined : { scanHelper };
}

/** `fdleak [--debug] scan ...`: a guess like diagnoseTarget's; commander has the last word. */
export function isScan(argv: readonly string[]): boolean {
  const at = argv.indexOf('scan');
  return at >= 0 && argv.slice(0, at).every((a) => a === '--debug') && !argv.includes('--help') && !argv.includes('-h');
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
 * The pid and --proc-root of `fdleak [--debug] diagnose <pid> [options]`, read before commander is
 * even loaded. Only a guess: commander still parses argv, and the prefetched tables are used only if
 * their pid and --proc-root are the ones it parsed.
 */
export function diagnoseTarget(argv: readonly string[]): { pid: number; procRoot: string } | undefined {
  const at = argv.indexOf('diagnose');
  if (at < 0 || !argv.slice(0, at).every((a) => a === '--debug')) return undefined;
  let procRoot = '/proc';
  let pid: string | undefined;
  for (let i = at + 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--proc-root') procRoot = argv[++i] ?? procRoot;
    else if (a.startsWith('--proc-root=')) procRoot = a.slice('--proc-root='.length);
    else if (a === '--fail-on') i++;
    else if (a.startsWith('-')) continue;
    else if (pid === undefined) pid = a;
    else return undefined;
  }
  return pid !== undefined && /^\d{1,7}$/.test(pid) && Number(pid) > 0 ? { pid: Number(pid), procRoot } : undefined;
}
