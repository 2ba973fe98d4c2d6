import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('time-wait', () => {
  it('a diagnosed client that holds no connection to the endpoint: namespace context (info, no pid), not its own finding', async () => {
    // The captured client had finished its 150 queries: none of its own sockets goes to 3306, so the
    // rows (no owner, inode 0) may be anyone's in the namespace (issue 10 point 3).
    const { pid, findings, golden } = await runRuleCase('time-wait', 'quiet-finished-client');
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [null, 150, 'info', [{
        peer: '127.0.0.1:3306', service: 'mysql', count: 150, ephemeralRange: '40000-40999', rangeUsed: '15%', touchesProcess: false,
      }]],
    ]);
    expect(findings[0]!.message).toContain(`in this namespace, none to or from the endpoints of pid ${pid}`);
    // The namespace's tcp_tw_reuse (0 in the capture) is stated with its meaning.
    expect(findings[0]!.advice).toContain('net.ipv4.tcp_tw_reuse = 0 (off)');
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('fires on a client with a query in flight to 127.0.0.1:3306: its own endpoint, against the ephemeral range', async () => {
    const { pid, snapshot, findings, golden } = await runRuleCase('time-wait', 'fires-query-in-flight');
    const inFlight = snapshot.sockets.filter((s) => s.state === 'ESTABLISHED' && s.owners.some((o) => o.pid === pid) && s.remote?.port === 3306);
    expect(inFlight).toHaveLength(1);
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 150, 'warning', [{
        peer: '127.0.0.1:3306', service: 'mysql', count: 150, ephemeralRange: '40000-40999', rangeUsed: '15%', touchesProcess: true,
      }]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('is info below warnPercent of the range and critical from criticalPercent on', async () => {
    const severity = async (t: Record<string, number>): Promise<string[]> =>
      (await runRuleCase('time-wait', 'fires-query-in-flight', t)).findings.map((f) => f.severity);
    expect(await severity({ warnPercent: 16 })).toEqual(['info']);
    expect(await severity({ criticalPercent: 15 })).toEqual(['critical']);
    expect(await severity({ min: 151 })).toEqual([]);
  });

  it('stays quiet below min TIME_WAIT sockets towards one endpoint', async () => {
    const { snapshot, findings } = await runRuleCase('time-wait', 'quiet-few-requests');
    expect(snapshot.sockets.filter((s) => s.state === 'TIME_WAIT')).toHaveLength(60);
    expect(findings).toEqual([]);
    const { findings: info } = await runRuleCase('time-wait', 'quiet-few-requests', { min: 60 });
    expect(info.map((f) => [f.pid, f.count, f.severity, f.evidence[0]?.rangeUsed])).toEqual([[null, 60, 'info', '6%']]);
  });
});
