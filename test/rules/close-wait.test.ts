import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('close-wait', () => {
  it('fires on a server that never closes connections its clients hung up, grouped by client', async () => {
    const { pid, findings, golden } = await runRuleCase('close-wait', 'fires-server-never-closes');
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 20, 'warning', [
        { peer: '127.0.0.2', listener: ':47110', service: null, count: 12, finWait2Peers: 12 },
        { peer: '127.0.0.3', listener: ':47110', service: null, count: 8, finWait2Peers: 8 },
      ]],
    ]);
    // The clients' orphaned FIN_WAIT2 rows (inode 0) are in the same namespace's tables: the other half.
    expect(findings[0]!.message).toContain('the other half of the 20 FIN_WAIT2 held by no process (orphaned)');
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('fires from min on, and is critical from critical on', async () => {
    expect((await runRuleCase('close-wait', 'fires-server-never-closes', { min: 21 })).findings).toEqual([]);
    expect((await runRuleCase('close-wait', 'fires-server-never-closes', { critical: 20 })).findings.map((f) => f.severity)).toEqual(['critical']);
    expect((await runRuleCase('close-wait', 'fires-server-never-closes', { evidence: 1 })).findings[0]!.evidence).toHaveLength(1);
  });

  it('stays quiet on CLOSE_WAIT rows without an fd (unaccepted connections of a listener)', async () => {
    const { snapshot, findings } = await runRuleCase('close-wait', 'quiet-unaccepted-close-wait', { min: 1 });
    expect(snapshot.sockets.filter((s) => s.state === 'CLOSE_WAIT').map((s) => s.inode)).toEqual(['0', '0', '0']);
    expect(findings).toEqual([]);
  });

  it('a hung backend: CLOSE_WAIT with the requests unread in Recv-Q, and the advice says it stopped reading', async () => {
    const { pid, snapshot, findings, golden } = await runRuleCase('close-wait', 'fires-unread-backend');
    const stuck = snapshot.sockets.filter((s) => s.state === 'CLOSE_WAIT' && s.owners.some((o) => o.pid === pid));
    const bytes = stuck.reduce((n, s) => n + (s.rxQueue ?? 0) - 1, 0); // Recv-Q counts the unread FIN as one
    expect(stuck.every((s) => (s.rxQueue ?? 0) > 0)).toBe(true);
    expect(findings.map((f) => [f.pid, f.count])).toEqual([[pid, stuck.length]]);
    expect(findings[0]!.evidence[0]).toMatchObject({ unreadSockets: stuck.length, unreadBytes: bytes, finWait2Peers: stuck.length });
    expect(findings[0]!.message).toContain(`all never read to the end (${bytes} bytes of data and the peer's FIN left in Recv-Q), the other half of the ${stuck.length} FIN_WAIT2 held by no process (orphaned)`);
    expect(findings[0]!.advice).toContain('the application stopped reading them, not only closing');
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });
});
