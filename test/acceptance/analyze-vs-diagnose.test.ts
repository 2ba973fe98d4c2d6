/**
 * Acceptance: the same incident captured live with `lsof -n -P -p PID` and `ss -tanp` (both run in
 * the process's own network namespace, as an operator would with nsenter) and fed to
 * `fdleak analyze` gives the same verdicts as `fdleak diagnose PID` at that moment: the same rules
 * fire for the same pid with the same counts. Differences that the text cannot carry are asserted
 * too: no limits in lsof/ss text (fd-limit cannot run), no ephemeral range (time-wait stays info),
 * no namespaces (orphans are low confidence).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFdleak } from '../helpers/cli.js';
import { inNetns, netnsSupport, startScenario, stopAll, type Scenario } from '../helpers/netns.js';

interface Finding { rule: string; pid: number | null; count: number; severity: string; confidence?: string; evidence: Array<Record<string, unknown>> }
interface Doc { findings: Finding[]; skippedRules: Array<{ rule: string; reason: string }> }

const ns = netnsSupport();
const dir = mkdtempSync(join(tmpdir(), 'fdleak-analyze-live-'));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** diagnose, then lsof and ss captured right after, then analyze of both captures together. */
async function threeWays(s: Scenario): Promise<{ diagnose: Doc; analyze: Doc; lsofOnly: Doc; ssOnly: Doc }> {
  const d = await runFdleak(['diagnose', String(s.pid), '--json']);
  expect(d.stderr).toBe('');
  const lsof = inNetns(s.pid, 'lsof', ['-n', '-P', '-p', String(s.pid)]);
  const ss = inNetns(s.pid, 'ss', ['-tanp']);
  const lsofPath = join(dir, `lsof-${s.pid}.txt`);
  const ssPath = join(dir, `ss-${s.pid}.txt`);
  writeFileSync(lsofPath, lsof);
  writeFileSync(ssPath, ss);
  const a = await runFdleak(['analyze', lsofPath, ssPath, '--json']);
  expect(a.stderr).toBe('');
  const l = await runFdleak(['analyze', lsofPath, '--json']);
  const o = await runFdleak(['analyze', ssPath, '--json']);
  for (const r of [a, l, o]) expect([0, 1]).toContain(r.code);
  return { diagnose: JSON.parse(d.stdout) as Doc, analyze: JSON.parse(a.stdout) as Doc, lsofOnly: JSON.parse(l.stdout) as Doc, ssOnly: JSON.parse(o.stdout) as Doc };
}

const verdicts = (doc: Doc, rules: string[]): unknown[] =>
  doc.findings.filter((f) => rules.includes(f.rule)).map((f) => [f.rule, f.pid, f.count]).sort();

describe.skipIf(!ns.ok)(`analyze of live lsof + ss captures agrees with diagnose${ns.ok ? '' : ` (skipped: ${ns.reason})`}`, () => {
  it('orphan sockets (metrics client per login): same count, low confidence from text', async () => {
    const s = await startScenario('metrics-login.py', ['--port=47100', '--metrics-port=47101', '--logins=12', '--unconnected=3']);
    const { diagnose, analyze, lsofOnly } = await threeWays(s);
    expect(verdicts(diagnose, ['orphan-sockets']).length).toBe(1);
    expect(verdicts(analyze, ['orphan-sockets'])).toEqual(verdicts(diagnose, ['orphan-sockets']));
    expect(verdicts(lsofOnly, ['orphan-sockets'])).toEqual(verdicts(diagnose, ['orphan-sockets']));
    expect(analyze.findings.find((f) => f.rule === 'orphan-sockets')?.confidence).toBe('low');
    expect(analyze.skippedRules.map((r) => r.rule)).toContain('fd-limit');
  });

  it('close-wait (server never closes): same count and peer groups from lsof, ss, and both', async () => {
    const s = await startScenario('close-wait-server.mjs', ['--port=47110', '--peers=127.0.0.2:12,127.0.0.3:8']);
    const { diagnose, analyze, lsofOnly, ssOnly } = await threeWays(s);
    const expected = verdicts(diagnose, ['close-wait']);
    expect(expected.length).toBe(1);
    for (const doc of [analyze, lsofOnly, ssOnly]) {
      expect(verdicts(doc, ['close-wait'])).toEqual(expected);
      // lsof -p of the server alone lacks the clients' FIN_WAIT2 rows (the other half, issue 10.4).
      const expectedEvidence = diagnose.findings.find((f) => f.rule === 'close-wait')!.evidence
        .map((e) => (doc === lsofOnly ? Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'finWait2Peers')) : e));
      expect(doc.findings.find((f) => f.rule === 'close-wait')!.evidence).toEqual(expectedEvidence);
    }
  });

  it('accept-backlog (listener never accepts): queue, backlog limit and unaccepted CLOSE_WAIT from ss', async () => {
    const s = await startScenario('backlog-listener.py', ['--port=47120', '--backlog=8', '--connect=7', '--close=3']);
    const { diagnose, analyze, ssOnly } = await threeWays(s);
    const expected = verdicts(diagnose, ['accept-backlog', 'close-wait', 'orphan-sockets']);
    expect(expected.map((v) => (v as unknown[])[0])).toContain('accept-backlog');
    expect(verdicts(analyze, ['accept-backlog', 'close-wait', 'orphan-sockets'])).toEqual(expected);
    const d = diagnose.findings.find((f) => f.rule === 'accept-backlog')!.evidence[0]!;
    for (const doc of [analyze, ssOnly]) {
      const e = doc.findings.find((f) => f.rule === 'accept-backlog')!.evidence[0]!;
      expect([e.queued, e.backlog, e.closeWaitUnaccepted, e.establishedUnaccepted]).toEqual([d.queued, d.backlog, d.closeWaitUnaccepted, d.establishedUnaccepted]);
    }
  });

  it('time-wait (a connection per query to :3306): same count and top endpoint; info without the port range', async () => {
    const s = await startScenario('per-request-client.mjs', ['--port=3306', '--requests=150'], {
      sysctls: { 'net/ipv4/ip_local_port_range': '40000 40999', 'net/ipv4/tcp_tw_reuse': '0' },
    });
    const { diagnose, analyze, ssOnly } = await threeWays(s);
    const expected = verdicts(diagnose, ['time-wait']);
    expect(expected.length).toBe(1);
    expect(verdicts(analyze, ['time-wait'])).toEqual(expected);
    expect(verdicts(ssOnly, ['time-wait'])).toEqual([['time-wait', null, (expected[0] as unknown[])[2]]]);
    const top = (doc: Doc): unknown => doc.findings.find((f) => f.rule === 'time-wait')!.evidence[0]!.peer;
    expect(top(analyze)).toBe('127.0.0.1:3306');
    expect(top(diagnose)).toBe('127.0.0.1:3306');
    // The client holds no connection to :3306 any more: the rows may be anyone's in the namespace (issue 10.3).
    expect(diagnose.findings.find((f) => f.rule === 'time-wait')!.severity).toBe('info');
    expect(analyze.findings.find((f) => f.rule === 'time-wait')!.severity).toBe('info');
  });
});
