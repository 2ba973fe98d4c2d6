/**
 * What `fdleak scan` runs once its argv is read, by commander (program.ts) or by main.ts's own
 * reading of a plain `scan` (options.ts scanCall): one action for both, given the same options
 * object. No commander import here: main.ts runs it without loading commander.
 */
import { InputError } from '../errors.js';
import type { State } from './diagnose-action.js';
import type { Io } from './io.js';
import type { RuleConfigOptions } from './rule-options.js';
import { ruleConfigFrom } from './rule-options.js';
import { parseDuration } from '../util/duration.js';

/** The options of `scan` as commander gives them to its action (options.ts COMMANDS.scan). */
export interface ScanCliOptions extends RuleConfigOptions {
  json?: boolean;
  prometheus?: boolean;
  top?: string;
  sort: string;
  procRoot: string;
  sample?: string;
  group?: string;
}

/** Runs `fdleak scan` with `opts`; the exit code goes to state.code. */
export async function scanAction(opts: ScanCliOptions, io: Io, state: State): Promise<void> {
  if (opts.json === true && opts.prometheus === true) throw new InputError('choose one of --json and --prometheus', { source: 'scan' });
  if (opts.sort === 'growth' && opts.sample === undefined) throw new InputError('--sort growth needs --sample <duration> (e.g. --sample 5s): growth is measured between two reads', { source: '--sort' });
  if (opts.group !== undefined && opts.prometheus === true) throw new InputError('--group is for the table and --json; in Prometheus sum by the location label (sum by (location) (fdleak_process_open_fds))', { source: '--group' });
  const sampleMs = opts.sample === undefined ? undefined : parseDuration(opts.sample, '--sample');
  const rules = await ruleConfigFrom(opts); // validated always; only --sample runs a rule (fd-growth)
  const { scan } = await import('./commands/scan.js');
  const format = opts.json === true ? 'json' : opts.prometheus === true ? 'prometheus' : 'table';
  state.code = await scan({
    format, top: opts.top, sort: opts.sort as 'fds', procRoot: opts.procRoot, helper: state.prefetch?.scanHelper, debug: state.debug,
    sampleMs, group: opts.group as 'unit' | undefined, rules,
  }, io);
}
