import { analyzeCapture } from '../../capture/capture.js';
import type { Format } from '../../capture/detect-format.js';
import { openLines } from '../../capture/text-input.js';
import type { LineStream } from '../../capture/text-input.js';
import { errnoOf, InputError } from '../../errors.js';
import type { Severity } from '../../model/finding.js';
import { analyzeJson } from '../../report/analyze/json.js';
import { analyzeTable } from '../../report/analyze/table.js';
import { failsAt, runRules } from '../../rules/engine.js';
import type { RuleConfig } from '../../rules/config.js';
import { engineOptions } from '../../rules/config.js';
import type { Io } from '../io.js';
import { useColor } from '../io.js';

export interface AnalyzeOptions {
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
      if (error instanceof InputError) throw error;
      const code = errnoOf(error);
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((error as Error).message);
      throw new InputError(`cannot read: ${why}`, { source: path });
    }
  }
  const capture = await analyzeCapture(streams, options.format, new Date().toISOString());
  const { findings, skipped } = runRules(capture.snapshot, engineOptions(options.rules));
  io.out(options.json
    ? analyzeJson(capture, findings, skipped)
    : analyzeTable(capture, findings, skipped, { color: useColor(io), version: options.version, generatedAt: capture.snapshot.takenAt }));
  return failsAt(findings, options.failOn) ? 1 : 0;
}
