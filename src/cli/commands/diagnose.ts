import { readFileSync } from 'node:fs';
import { collectLiveProcess } from '../../live/diagnose.js';
import { threadOf } from '../../live/thread-of.js';
import type { ProcPidPrefetch } from '../../live/threads/proc-pid-worker.js';
import { InputError } from '../../errors.js';
import type { Severity } from '../../model/finding.js';
import type { Snapshot } from '../../model/snapshot.js';
import { diagnoseJson } from '../../report/diagnose/json.js';
import { failsAt, runRules } from '../../rules/engine.js';
import type { RuleConfig } from '../../rules/config.js';
import { engineOptions } from '../../rules/config.js';
import type { Io } from '../io.js';
import { startedFromSnapshot } from '../startup.js';
import { useColor } from '../io.js';

export interface DiagnoseOptions {
  json: boolean;
  failOn: Severity | 'never';
  procRoot: string;
  version: string;
  /** `pid`'s fd and socket tables, already being read on a worker (bin/fdleak.js starts it: cli/prefetch.ts). */
  prefetch?: ProcPidPrefetch;
  /** --debug: where the time went, on stderr. */
  debug?: boolean;
  /** --sample: read the process twice this many ms apart; fd-growth judges the two reads. */
  sampleMs?: number;
  /** Thresholds and rules turned off (--set, --config, fdleak.config.json). */
  rules?: RuleConfig;
}

/** `fdleak diagnose <pid>`: one live process, every rule, ranked findings. Returns the exit code. */
export async function diagnose(pid: number, options: DiagnoseOptions, io: Io): Promise<number> {
  // The table reporter brings chalk and cli-table3: loaded only when a table is printed.
  const table = options.json ? undefined : await import('../../report/diagnose/table.js');
  const timings = new Map<string, number>([['start', performance.now()]]);
  // A thread id (/proc/<tid> exists for threads too): report its process, and say so.
  const asked = threadOf(options.procRoot, pid);
  const target = asked === undefined ? pid : asked.tgid;
  const first = await collectLiveProcess(target, { procRoot: options.procRoot, prefetch: options.prefetch, timings, earlyProtocols: true });
  const snapshot = options.sampleMs === undefined ? first : await sampleAgain(first, options.sampleMs, options.procRoot);
  const thread = asked === undefined ? undefined : { tid: pid, name: asked.name };
  const process = snapshot.processes[0]!;
  // Not `fdCount > 0`: before Linux 6.2, st_size of /proc/<pid>/fd is 0 whatever it holds.
  if (snapshot.fds.length === 0 && !process.fdTableComplete) {
    throw new InputError(
      `cannot read the fds of pid ${target} (${process.command}): permission denied; run as root or as the process's owner`,
      { source: `pid ${target}` },
    );
  }
  const { findings, skipped } = runRules(snapshot, engineOptions(options.rules));
  timings.set('rules', performance.now());
  const text = table === undefined
    ? diagnoseJson(snapshot, findings, skipped, thread)
    : table.diagnoseTable(snapshot, findings, skipped, { color: useColor(io), version: options.version, generatedAt: snapshot.takenAt }, thread);
  io.out(text);
  if (options.debug === true) {
    io.err(`fdleak: ${debugLine(timings.set('report', performance.now()), snapshot.fds.length)}\n`);
    io.err(`fdleak: ${timeline(timings, options.prefetch?.marks ?? [])}; ${cpuLine()}\n`);
  }
  return failsAt(findings, options.failOn) ? 1 : 0;
}

/** `first`, read again `ms` later: the second read with the two reads as a series for fd-growth. */
async function sampleAgain(first: Snapshot, ms: number, procRoot: string): Promise<Snapshot> {
  // A node: built-in by getBuiltinModule, not import(): the start-up snapshot (cli/snapshot.ts) has no import().
  const { setTimeout: sleep } = process.getBuiltinModule('node:timers/promises');
  const { sampleSeries } = await import('../../model/sample.js');
  const before = first.processes[0]!;
  await sleep(ms);
  let second: Snapshot;
  try {
    second = await collectLiveProcess(before.pid, { procRoot });
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`pid ${before.pid} exited during --sample`, { source: `pid ${before.pid}` });
    throw error;
  }
  const after = second.processes[0]!;
  if (after.startTime !== before.startTime) {
    throw new InputError(`pid ${before.pid} exited during --sample and the pid now belongs to another process (${after.command})`, { source: `pid ${before.pid}` });
  }
  return { ...second, series: [sampleSeries(first, second, after)] };
}

/**
 * The two threads' steps in the order they ended, in ms since node started: "timeline: up 31.0
 * (second thread), tcp 80.2 (second thread), start 79.1, ...". `marks`: the second thread's
 * (proc-pid-worker.ts Marks, ms since the epoch), with the main thread's part of the links.
 */
function timeline(t: Map<string, number>, marks: ReadonlyArray<[string, number]>): string {
  const steps: Array<[string, number]> = [...t].filter(([k]) => k !== 'second thread');
  for (const [k, at] of marks) steps.push([k.startsWith('main: ') ? k.slice(6) : `${k} (second thread)`, at - performance.timeOrigin]);
  steps.sort((a, b) => a[1] - b[1]);
  return `timeline: ${steps.map(([k, at]) => `${k} ${at.toFixed(1)}`).join(', ')}`;
}

/**
 * "cpu: main thread 180 ms, all threads 260 ms" so far: what the run cost, whatever else the
 * machine ran meanwhile (wall times on a busy 2-core machine are not). The main thread's from
 * /proc/thread-self/schedstat (ns on a CPU), all threads' from process.cpuUsage().
 */
function cpuLine(): string {
  const { user, system } = process.cpuUsage();
  let main = Number.NaN;
  try {
    main = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  } catch {
    // no schedstat: NaN says so
  }
  return `cpu: main thread ${main.toFixed(0)} ms, all threads ${((user + system) / 1000).toFixed(0)} ms`;
}

/** "diagnose 221 ms since node started: start-up and modules 61, fds 58 (...), ..." from the step ends. */
function debugLine(t: Map<string, number>, fds: number): string {
  const at = (k: string): number => t.get(k) ?? Number.NaN;
  const ms = (a: string, b: string): string => (at(b) - at(a)).toFixed(1);
  return `diagnose ${at('report').toFixed(0)} ms since node started: start-up and modules ${at('start').toFixed(1)}${startedFromSnapshot() ? ' (start-up snapshot)' : ''}, `
    + `fds ${ms('start', 'fds')} (${fds} links${at('second thread') === 1 ? ', shared with a second thread' : ', one thread'}), `
    + `socket tables ${ms('fds', 'tables')}, limits and sysctls ${ms('tables', 'facts')}, validation ${ms('facts', 'validated')}, `
    + `rules ${ms('validated', 'rules')}, report ${ms('rules', 'report')}`;
}
