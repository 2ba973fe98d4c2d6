/** Runs the rules on captured text files exactly as `fdleak analyze FILE...` reads them. */
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import type { Finding } from '../../src/model/finding.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { runRules } from '../../src/rules/engine.js';
import type { Thresholds } from '../../src/rules/rule.js';
import { RULE_FIXTURES } from './rule-case.js';

/** fixtures/rules/<rule>/<files...> through the capture reader; only `rule` runs. */
export async function analyzeRuleFiles(rule: string, files: string[], thresholds?: Partial<Thresholds>): Promise<{ snapshot: Snapshot; findings: Finding[] }> {
  const streams = await Promise.all(files.map((f) => openLines(`${RULE_FIXTURES}${rule}/${f}`, process.stdin)));
  const { snapshot } = await analyzeCapture(streams, undefined, '2026-11-22T00:00:00.000Z');
  const { findings } = runRules(snapshot, { only: [rule], ...(thresholds === undefined ? {} : { thresholds: { [rule]: thresholds } }) });
  return { snapshot, findings };
}
