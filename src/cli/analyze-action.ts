/**
 * What `fdleak analyze [files...]` runs once its argv is read, by commander (program.ts) or by
 * main.ts's own reading of a plain `analyze` (options.ts analyzeCall): one action for both, given
 * the same options object. No commander import here: main.ts runs it without loading commander.
 */
import { InputError } from '../errors.js';
import type { State } from './diagnose-action.js';
import type { Io } from './io.js';
import { parseFailOn } from './options.js';
import type { RuleConfigOptions } from './rule-options.js';
import { ruleConfigFrom } from './rule-options.js';
import { version } from './version.js';

/** The options of `analyze` as commander gives them to its action (options.ts COMMANDS.analyze). */
export interface AnalyzeCliOptions extends RuleConfigOptions {
  json?: boolean;
  format: string;
  failOn: string;
  state?: string;
  portRange?: string;
  fdLimit?: string;
  somaxconn?: string;
}

/** Runs `fdleak analyze` on `files` (none: stdin) with `opts`; the exit code goes to state.code. */
export async function analyzeAction(files: string[], opts: AnalyzeCliOptions, io: Io, state: State): Promise<void> {
  const failOnValue = parseFailOn(opts.failOn);
  const rules = await ruleConfigFrom(opts);
  if (files.length === 0 && io.stdinIsTTY) {
    throw new InputError('no input: give capture files, or pipe text in (lsof -n | fdleak analyze)', { source: 'analyze' });
  }
  const { analyze, parseAssumptions } = await import('./commands/analyze.js');
  const assume = parseAssumptions(opts);
  const format = opts.format === 'auto' ? undefined : (opts.format as 'lsof');
  state.code = await analyze(files, { json: opts.json === true, format, failOn: failOnValue, version: version(), rules, assume }, io);
}
