import { describe, expect, it } from 'vitest';
import { goldenText, runRuleCase } from '../helpers/rule-case.js';

describe('orphan-sockets', () => {
  it('fires on a login service whose metrics client leaks a socket per failed login', async () => {
    const { pid, findings, golden } = await runRuleCase('orphan-sockets', 'fires-metrics-login');
    // 12 refused connect()s + 3 never connected = fds 4-18; the listener (fd 3) is in net/tcp.
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.evidence])).toEqual([
      [pid, 15, 'warning', [{ protocol: 'unknown', count: 15, fds: '4-18' }]],
    ]);
    await expect(goldenText(findings)).toMatchFileSnapshot(golden);
  });

  it('fires from min on, and is critical from critical on', async () => {
    expect((await runRuleCase('orphan-sockets', 'fires-metrics-login', { min: 15 })).findings.map((f) => f.count)).toEqual([15]);
    expect((await runRuleCase('orphan-sockets', 'fires-metrics-login', { min: 16 })).findings).toEqual([]);
    expect((await runRuleCase('orphan-sockets', 'fires-metrics-login', { critical: 15 })).findings.map((f) => f.severity)).toEqual(['critical']);
  });

  it('stays quiet on a busy process whose sockets all have rows in its own namespace', async () => {
    const { snapshot, findings } = await runRuleCase('orphan-sockets', 'quiet-busy-keepalive', { min: 1 });
    // 1 listener + 4 keep-alive clients + 4 accepted + 1 UDP, all found in the captured tables.
    expect(snapshot.fds.filter((f) => f.kind === 'socket')).toHaveLength(10);
    expect(findings).toEqual([]);
  });
});
