import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('time-wait', () => {
  it('fires on a client opening a connection per query to 127.0.0.1:3306, against the ephemeral range', async () => {
    const { pid, findings, golden } = await runRuleCase('time-wait', 'fires-per-request-mysql');
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 150, 'warning', [{
        peer: '127.0.0.1:3306', service: 'mysql', count: 150, ephemeralRange: '40000-40999', rangeUsed: '15%', touchesProcess: false,
      }]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('is info below warnPercent of the range and critical from criticalPercent on', async () => {
    const severity = async (t: Record<string, number>): Promise<string[]> =>
      (await runRuleCase('time-wait', 'fires-per-request-mysql', t)).findings.map((f) => f.severity);
    expect(await severity({ warnPercent: 16 })).toEqual(['info']);
    expect(await severity({ criticalPercent: 15 })).toEqual(['critical']);
    expect(await severity({ min: 151 })).toEqual([]);
  });

  it('stays quiet below min TIME_WAIT sockets towards one endpoint', async () => {
    const { snapshot, findings } = await runRuleCase('time-wait', 'quiet-few-requests');
    expect(snapshot.sockets.filter((s) => s.state === 'TIME_WAIT')).toHaveLength(60);
    expect(findings).toEqual([]);
    const { pid, findings: info } = await runRuleCase('time-wait', 'quiet-few-requests', { min: 60 });
    expect(info.map((f) => [f.pid, f.count, f.severity, f.evidence[0]?.rangeUsed])).toEqual([[pid, 60, 'info', '6%']]);
  });
});
