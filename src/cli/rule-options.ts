/** `--set rule.key=value` (repeatable) and `--config FILE`: the options of every command that runs rules. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { RuleConfig } from '../rules/config.js';

export interface RuleConfigOptions {
  set?: string[];
  config?: string;
}

/** Adds --set and --config to `cmd`. */
export function addRuleConfigOptions(cmd: Command): Command {
  return cmd
    .option('--set <rule.threshold=value>', 'set a rule threshold (close-wait.min=5) or turn a rule off (time-wait=off); repeatable',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--config <file>', 'rule thresholds from this JSON file (default: fdleak.config.json in the working directory, if any)');
}

/**
 * The validated configuration the options name (InputError, exit 2, on a bad one); undefined when
 * there is none (no --set, no --config, no fdleak.config.json here): the rules' code is then not
 * loaded for it (`scan` runs no rule and starts in a few ms).
 */
export async function ruleConfigFrom(opts: RuleConfigOptions): Promise<RuleConfig | undefined> {
  if ((opts.set ?? []).length === 0 && opts.config === undefined && !existsSync('fdleak.config.json')) return undefined;
  const { loadRuleConfig } = await import('../rules/config.js');
  return loadRuleConfig({ sets: opts.set ?? [], ...(opts.config === undefined ? {} : { configPath: opts.config }) });
}
