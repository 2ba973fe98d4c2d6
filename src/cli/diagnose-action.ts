/**
 * What `fdleak diagnose <pid>` runs once its argv is read, by commander (program.ts) or by main.ts's
 * own reading of a plain `diagnose <pid>` (options.ts diagnoseCall): one action for both, given the
 * same options object. No commander import here: main.ts runs it without loading commander.
 */
import type { Io } from './io.js';
import { parseFailOn, parsePid } from './options.js';
import type { Prefetch } from './prefetch.js';
import type { RuleConfigOptions } from './rule-options.js';
import { ruleConfigFrom } from './rule-options.js';
import { version } from './version.js';
import { parseDuration } from '../util/duration.js';

/** What a run of the CLI carries between argv's reading and its end. */
export interface State {
  code: number;
  debug: boolean;
  /** A second thread bin/fdleak.js started while the modules loaded (prefetch.ts). */
  prefetch?: Prefetch;
}

/** The options of `diagnose` as commander gives them to its action (options.ts COMMANDS.diagnose). */
export interface DiagnoseCliOptions extends RuleConfigOptions {
  json?: boolean;
  failOn: string;
  procRoot: string;
  sample?: string;
}

/** Runs `fdleak diagnose <pidText>` with `opts`; the exit code goes to state.code. */
export async function diagnoseAction(pidText: string, opts: DiagnoseCliOptions, io: Io, state: State): Promise<void> {
  const pid = parsePid(pidText);
  const sampleMs = opts.sample === undefined ? undefined : parseDuration(opts.sample, '--sample');
  const rules = await ruleConfigFrom(opts);
  const { diagnose } = await import('./commands/diagnose.js');
  state.code = await diagnose(pid, {
    json: opts.json === true, failOn: parseFailOn(opts.failOn), procRoot: opts.procRoot, version: version(),
    prefetch: state.prefetch?.procPid, debug: state.debug, sampleMs, rules,
  }, io);
}
