/**
 * What bin/fdleak.js loads before anything else: for `fdleak diagnose <pid>` it starts reading the
 * process's fd and socket tables on a worker thread (collectors/proc-pid-worker.ts) before main.js,
 * commander and the rest are even loaded. A bundle entry of its own, with node: built-ins only.
 */
import type { ProcPidPrefetch } from '../collectors/proc-pid-worker.js';
import { prefetchProcPid } from '../collectors/proc-pid-worker.js';

/**
 * Starts the read for `diagnose <pid>` argv when a core is free to do it; undefined for any other
 * command, and on a busy machine (the collector then reads everything on the main thread).
 */
export function prefetchFor(argv: readonly string[]): ProcPidPrefetch | undefined {
  const target = diagnoseTarget(argv);
  return target === undefined || !coreToSpare() ? undefined : prefetchProcPid(target.procRoot, target.pid);
}

/**
 * Whether a second thread can get a core: more than one core, and the last minute's load average
 * not above the core count by a whole task. The worker costs ~30 ms of CPU to start and pays off
 * only where it gets to run: `diagnose` of 15,000 fds on 2 cores measured 7% faster (than before
 * the worker existed) without it and 14% faster with it at a load average of 2-2.6, but 6% faster
 * without it and 3% slower with it at 4.6-5.2.
 */
function coreToSpare(): boolean {
  const { availableParallelism, loadavg } = process.getBuiltinModule('node:os');
  const cores = availableParallelism();
  return cores > 1 && loadavg()[0]! < cores + 1;
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
