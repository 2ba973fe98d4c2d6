import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('fin-wait2', () => {
  it('fires on a client holding half-closed connections whose server never closes', async () => {
    const { pid, findings, golden } = await runRuleCase('fin-wait2', 'fires-half-closed-client');
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 12, 'warning', [{ peer: '127.0.0.1:47150', service: null, count: 12 }]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('fires from ownedMin held sockets on', async () => {
    expect((await runRuleCase('fin-wait2', 'fires-half-closed-client', { ownedMin: 13 })).findings).toEqual([]);
  });

  it('stays quiet on orphaned FIN_WAIT2 rows the process holds no fd for', async () => {
    const { snapshot, findings } = await runRuleCase('fin-wait2', 'quiet-orphaned-fin-wait2');
    const fin = snapshot.sockets.filter((s) => s.state === 'FIN_WAIT2');
    expect([fin.length, fin.filter((s) => s.inode === '0').length]).toEqual([20, 20]);
    expect(findings).toEqual([]);
    // From min orphaned rows on, the namespace gets an info finding (they expire by themselves).
    const { pid, findings: info } = await runRuleCase('fin-wait2', 'quiet-orphaned-fin-wait2', { min: 20 });
    expect(info.map((f) => [f.pid, f.count, f.severity])).toEqual([[pid, 20, 'info']]);
  });
});
