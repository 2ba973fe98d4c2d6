import type { Finding, Severity } from '../../model/finding.js';
import type { Process } from '../../model/process.js';
import type { GroupChange, SamplePoint } from '../../model/sample.js';
import { SeriesRecorder } from '../../model/sample.js';
import type { Snapshot } from '../../model/snapshot.js';
import type { SampleEnd } from '../../live/sampler.js';
import { sampleProcess } from '../../live/sampler.js';
import type { SkippedRule } from '../../rules/engine.js';
import { failsAt, rankFindings, runRules } from '../../rules/engine.js';
import { liveLine } from '../../report/watch/live-line.js';
import { collectGarbageAbove } from '../../util/memory.js';
import type { Io } from '../io.js';
import { useColor } from '../io.js';

/** Resident size past which a watch collects the garbage of its samples at once (util/memory.ts). */
const GC_ABOVE = 96 * 1024 * 1024;

export interface WatchOptions {
  intervalMs: number;
  durationMs: number;
  json: boolean;
  failOn: Severity | 'never';
  procRoot: string;
  version: string;
  /** Stops the watch early (Ctrl-C); the summary is still printed. Default: SIGINT and SIGTERM of this process. */
  signal?: AbortSignal;
  /** performance.now() when the command was given: samples fall on whole intervals from it, the duration counts from it. */
  startedAt?: number;
}

/** What a watch saw: the figures of each sample (not its fds), the groups that changed, the findings. */
export interface WatchResult {
  process: Process;
  points: SamplePoint[];
  changes: GroupChange[];
  intervalMs: number;
  durationMs: number;
  end: SampleEnd;
  findings: Finding[];
  skipped: SkippedRule[];
  warnings: string[];
}

/**
 * `fdleak watch <pid>`: samples the process, a live line per sample on a terminal (rewritten in place
 * on a TTY, one line each otherwise; none with --json), then every rule on the last sample and
 * fd-growth over all of them. Returns the exit code.
 */
export async function watch(pid: number, options: WatchOptions, io: Io): Promise<number> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const signal = options.signal ?? controller.signal;
  if (options.signal === undefined) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
  try {
    let recorder: SeriesRecorder | undefined;
    // Of each sample only its figures stay, and the findings of the latest one: the samples of a
    // 15,000-fd process are not kept alive one after another (flat memory, bench/watch.mjs).
    let latest: { moment: Finding[]; skipped: SkippedRule[]; process: Process; snapshot: Snapshot } | undefined;
    const samples = sampleProcess(pid, { intervalMs: options.intervalMs, durationMs: options.durationMs, signal, procRoot: options.procRoot, origin: options.startedAt });
    let step = await samples.next();
    while (step.done !== true) {
      const { snapshot, process: p } = step.value;
      recorder ??= new SeriesRecorder(p.pid, p.startTime);
      recorder.add(snapshot, p);
      const { findings: moment, skipped } = runRules(snapshot);
      latest = { moment, skipped, process: p, snapshot: { ...snapshot, fds: [], sockets: [] } };
      collectGarbageAbove(GC_ABOVE);
      if (!options.json) io.out(io.isTTY ? `\r\x1b[K${liveLine(recorder.points)}` : `${liveLine(recorder.points)}\n`);
      step = await samples.next();
    }
    if (!options.json && io.isTTY) io.out('\n');
    // The generator throws on the first read, so there is always at least one sample here.
    const { findings: growth } = runRules({ ...latest!.snapshot, series: [recorder!.series()] }, { only: ['fd-growth'] });
    const findings = rankFindings([...latest!.moment, ...growth]);
    const result: WatchResult = {
      process: latest!.process, points: recorder!.points, changes: recorder!.changes(),
      intervalMs: options.intervalMs, durationMs: options.durationMs, end: step.value, findings, skipped: latest!.skipped, warnings: latest!.snapshot.warnings,
    };
    if (options.json) {
      const { watchJson } = await import('../../report/watch/json.js');
      io.out(watchJson(result));
    } else {
      const { watchText } = await import('../../report/watch/text.js');
      io.out(watchText(result, { color: useColor(io), version: options.version, generatedAt: latest!.snapshot.takenAt }));
    }
    return failsAt(findings, options.failOn) ? 1 : 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
