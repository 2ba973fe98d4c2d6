import { analyzeCapture } from '../../capture/capture.js';
import { coreToSpare, takeEarlyTail } from '../prefetch.js';
import type { Assumptions } from '../../capture/capture.js';
import { tcpStateNamed } from '../../parse/ss.js';
import type { Format } from '../../capture/detect-format.js';
import { openLines } from '../../capture/text-input.js';
import type { LineStream } from '../../capture/text-input.js';
import { errnoOf, InputError } from '../../errors.js';
import type { Severity } from '../../model/finding.js';
import { judgedScope } from '../../report/analyze/judged.js';
import { analyzeJson } from '../../report/analyze/json.js';
import { failsAt, runRules } from '../../rules/engine.js';
import type { RuleConfig } from '../../rules/config.js';
import { engineOptions } from '../../rules/config.js';
import type { Io } from '../io.js';
import { useColor } from '../io.js';

export interface AnalyzeOptions {
  assume?: Assumptions;
  json: boolean;
  format: Format | undefined;
  failOn: Severity | 'never';
  version: string;
  /** Thresholds and rules turned off (--set, --config, fdleak.config.json). */
  rules?: RuleConfig;
}

/** `fdleak analyze [file...|-]`: captured text, format detected, the same rules, one merged report. */
export async function analyze(paths: string[], options: AnalyzeOptions, io: Io): Promise<number> {
  const sources = paths.length === 0 ? ['-'] : paths;
  if (sources.filter((p) => p === '-').length > 1) throw new InputError('stdin ("-") can be read only once', { source: 'analyze' });
  const streams: LineStream[] = [];
  for (const path of sources) {
    try {
      streams.push(await openLines(path, io.stdin));
    } catch (error) {
      for (const stream of streams) stream.close();
      if (error instanceof InputError) throw error;
      const code = errnoOf(error);
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((error as Error).message);
      throw new InputError(`cannot read: ${why}`, { source: path });
    }
  }
  let capture;
  const early = takeEarlyTail(); // the worker bin/fdleak.js started on FILE (cli/prefetch.ts), if any
  try {
    capture = await analyzeCapture(streams, options.format, new Date().toISOString(), options.assume, { split: { threads: threadsOf(io), early }, coreToSpare });
  } finally {
    early?.stop(); // not taken, or done: it ends (stop() of an ended worker does nothing)
    for (const stream of streams) stream.close(); // read to the end, or judged unusable: nothing waits for more
  }
  const { findings, skipped, ran } = runRules(capture.snapshot, engineOptions(options.rules));
  const judged = judgedScope(capture.snapshot, ran, skipped);
  if (options.json) {
    io.out(analyzeJson(capture, findings, skipped, judged));
  } else {
    // the table reporter only when asked for: --json loads neither cli-table3 nor chalk (as diagnose)
    const { analyzeTable } = await import('../../report/analyze/table.js');
    io.out(analyzeTable(capture, findings, skipped, judged, { color: useColor(io), version: options.version, generatedAt: capture.snapshot.takenAt }));
  }
  return failsAt(findings, options.failOn) ? 1 : 0;
}

/**
 * FDLEAK_ANALYZE_THREADS=1 reads every capture on one thread; =2 reads a large lsof file on two
 * (capture/tail.ts) even when no core looks free (benchmarks and identity checks on a busy box);
 * unset: two when a core is free. The output is the same either way.
 */
function threadsOf(io: Io): 'auto' | 1 | 2 {
  const v = io.env.FDLEAK_ANALYZE_THREADS;
  return v === '1' ? 1 : v === '2' ? 2 : 'auto';
}

/** --state, --port-range, --fd-limit, --somaxconn: checked, each a one-line error naming the option. */
export function parseAssumptions(opts: { state?: string; portRange?: string; fdLimit?: string; somaxconn?: string }): Assumptions {
  const bad = (option: string, expected: string, value: string): InputError =>
    new InputError(`${option}: expected ${expected}, found ${JSON.stringify(value.slice(0, 40))}`, { source: 'analyze' });
  const count = (option: string, value: string): number => {
    if (!/^\d{1,9}$/.test(value) || Number(value) === 0) throw bad(option, 'a positive whole number', value);
    return Number(value);
  };
  const out: Assumptions = {};
  if (opts.state !== undefined) {
    const state = tcpStateNamed(opts.state);
    if (state === undefined) throw bad('--state', 'a TCP state (close-wait, CLOSE_WAIT, established, time-wait, ...)', opts.state);
    out.state = state;
  }
  if (opts.portRange !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(opts.portRange);
    const [lo, hi] = m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
    if (m === null || lo < 1 || hi > 65535 || lo > hi) throw bad('--port-range', 'LOW-HIGH within 1-65535 (e.g. 32768-60999)', opts.portRange);
    out.portRange = [lo, hi];
  }
  if (opts.fdLimit !== undefined) out.fdLimit = count('--fd-limit', opts.fdLimit);
  if (opts.somaxconn !== undefined) out.somaxconn = count('--somaxconn', opts.somaxconn);
  return out;
}
