import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('fd-limit', () => {
  it('fires on a process holding 90 of its 100 allowed fds', async () => {
    const { pid, findings, golden } = await runRuleCase('fd-limit', 'fires-near-limit');
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 90, 'warning', [{ open: 90, soft: 100, hard: 20000, headroom: 10 }]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('is critical from criticalPercent on', async () => {
    expect((await runRuleCase('fd-limit', 'fires-near-limit', { criticalPercent: 90 })).findings.map((f) => f.severity)).toEqual(['critical']);
    expect((await runRuleCase('fd-limit', 'fires-near-limit', { warnPercent: 91 })).findings).toEqual([]);
  });

  it('stays quiet below warnPercent', async () => {
    const { snapshot, findings } = await runRuleCase('fd-limit', 'quiet-below-warn');
    expect(snapshot.processes.map((p) => [p.fdCount, p.fdLimit?.soft])).toEqual([[70, 100]]);
    expect(findings).toEqual([]);
  });
});
