import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('fin-wait2', () => {
  it('fires on a client holding half-closed connections whose server never closes', async () => {
    const { pid, findings, golden } = await runRuleCase('fin-wait2', 'fires-half-closed-client');
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 12, 'warning', [{ peer: '127.0.0.1:47150', service: null, count: 12, closeWaitPeers: 12 }]],
    ]);
    // The server's CLOSE_WAIT rows are in the captured tables; its /proc entry is not in the capture.
    expect(findings[0]!.message).toContain('the other half of the 12 CLOSE_WAIT held by an owner this input does not name');
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('fires from ownedMin held sockets on', async () => {
    expect((await runRuleCase('fin-wait2', 'fires-half-closed-client', { ownedMin: 13 })).findings).toEqual([]);
  });

  it('orphaned FIN_WAIT2 rows whose CLOSE_WAIT half the process holds: info naming it (its close-wait finding warns)', async () => {
    const { pid, snapshot, findings } = await runRuleCase('fin-wait2', 'quiet-orphaned-fin-wait2');
    const fin = snapshot.sockets.filter((s) => s.state === 'FIN_WAIT2');
    expect([fin.length, fin.filter((s) => s.inode === '0').length]).toEqual([20, 20]);
    const mine = snapshot.sockets.filter((s) => s.state === 'CLOSE_WAIT' && s.owners.some((o) => o.pid === pid));
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 20, 'info', [{ peer: `127.0.0.1:${mine[0]!.local!.port}`, service: null, count: 20, closeWaitPeers: mine.length }]],
    ]);
    expect(findings[0]!.message).toContain(`the other half of the ${mine.length} CLOSE_WAIT held by pid ${pid} (node)`);
    // Below pairedMin pairs, unpaired rules apply: under min orphaned rows, nothing.
    expect((await runRuleCase('fin-wait2', 'quiet-orphaned-fin-wait2', { pairedMin: 21 })).findings).toEqual([]);
  });

  it('a proxy\'s orphaned FIN_WAIT2 towards a backend holding their CLOSE_WAIT half: a warning below min', async () => {
    const { pid, snapshot, findings, golden } = await runRuleCase('fin-wait2', 'fires-proxy-upstream');
    const orphaned = snapshot.sockets.filter((s) => s.state === 'FIN_WAIT2' && s.inode === '0' && s.remote?.port === 9001);
    const halves = snapshot.sockets.filter((s) => s.state === 'CLOSE_WAIT' && s.local?.port === 9001);
    expect(orphaned.length).toBeLessThan(100); // under the unmatched threshold
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, orphaned.length, 'warning', [{ peer: '127.0.0.1:9001', service: null, count: orphaned.length, closeWaitPeers: halves.length }]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
    expect((await runRuleCase('fin-wait2', 'fires-proxy-upstream', { pairedMin: orphaned.length + 1 })).findings).toEqual([]);
  });
});
