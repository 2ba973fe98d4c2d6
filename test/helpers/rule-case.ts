/**
 * Loads a rule fixture (fixtures/rules/<rule>/<case>/: a captured /proc tree, see its README) the
 * way `fdleak diagnose --proc-root` would, and runs one rule on it.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import type { Finding } from '../../src/model/finding.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { runRules } from '../../src/rules/engine.js';
import type { Thresholds } from '../../src/rules/rule.js';

export const RULE_FIXTURES = fileURLToPath(new URL('../../fixtures/rules/', import.meta.url));

export interface RuleCase {
  /** The captured process. */
  pid: number;
  snapshot: Snapshot;
  findings: Finding[];
  /** Path of the golden file, relative to test/rules/*.test.ts (for toMatchFileSnapshot). */
  golden: string;
}

/** Runs `rule` (only) on fixtures/rules/<rule>/<name>, with optional threshold overrides. */
export async function runRuleCase(rule: string, name: string, thresholds?: Partial<Thresholds>): Promise<RuleCase> {
  const dir = `${RULE_FIXTURES}${rule}/${name}`;
  const pids = readdirSync(dir).filter((n) => /^\d+$/.test(n));
  if (pids.length !== 1) throw new Error(`${dir}: expected one captured pid directory, found ${pids.length}`);
  const pid = Number(pids[0]);
  const snapshot = await collectLiveProcess(pid, { procRoot: dir, now: () => new Date('2026-11-22T00:00:00.000Z') });
  const { findings, skipped } = runRules(snapshot, { only: [rule], ...(thresholds === undefined ? {} : { thresholds: { [rule]: thresholds } }) });
  if (skipped.length > 0) throw new Error(`${rule} skipped on ${name}: ${skipped[0]!.reason}`);
  return { pid, snapshot, findings, golden: `../../fixtures/rules/${rule}/${name}/expected.json` };
}

/** The golden text of findings: pretty JSON ending in a newline. */
export function goldenText(findings: readonly Finding[]): string {
  return `${JSON.stringify(findings, null, 2)}\n`;
}
