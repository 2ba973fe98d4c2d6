/** `--set rule.key=value` (repeatable) and `--config FILE`: the options of every command that runs rules. */
import { existsSync } from 'node:fs';
import type { RuleConfig } from '../rules/config.js';

export interface RuleConfigOptions {
  set?: string[];
  config?: string;
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
