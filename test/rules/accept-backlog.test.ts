import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('accept-backlog', () => {
  it('fires on a listener that never accept()s, counting the children its clients already closed', async () => {
    const { pid, findings, golden } = await runRuleCase('accept-backlog', 'fires-never-accepts');
    // A /proc tree cannot carry the backlog limit (ss -lnt said 8 at capture time): unknown here.
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 7, 'warning', [{
        listener: '127.0.0.1:47120', service: null, queued: 7, backlog: null,
        closeWaitUnaccepted: 3, establishedUnaccepted: 4, somaxconn: 4096,
      }]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('fires from min queued connections on', async () => {
    expect((await runRuleCase('accept-backlog', 'fires-never-accepts', { min: 7 })).findings.map((f) => f.count)).toEqual([7]);
    expect((await runRuleCase('accept-backlog', 'fires-never-accepts', { min: 8 })).findings).toEqual([]);
  });

  it('stays quiet on a server that accepts every connection (even one leaking them)', async () => {
    const { snapshot, findings } = await runRuleCase('accept-backlog', 'quiet-accepting-server', { min: 1 });
    expect(snapshot.sockets.filter((s) => s.state === 'LISTEN').map((s) => [s.local, s.rxQueue])).toEqual([
      [{ address: '127.0.0.1', port: 47110 }, 0],
    ]);
    expect(findings).toEqual([]);
  });
});
