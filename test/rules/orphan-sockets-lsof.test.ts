/**
 * orphan-sockets from lsof's TYPE sock rows, on the real captures of fixtures/lsof-sock: a process
 * holding never-bound sockets (the default listing and -F of the same moment), and a host-wide lsof
 * run from one network namespace while processes of three other namespaces hold connected sockets.
 * Counts and pids are read from the capture text itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import { runRules } from '../../src/rules/engine.js';
import type { Thresholds } from '../../src/rules/rule.js';
import { ROOT } from '../helpers/cli.js';

const path = (name: string): string => join(ROOT, 'fixtures/lsof-sock', name);
const lines = (name: string): string[] => readFileSync(path(name), 'utf8').split('\n');

async function orphans(name: string, thresholds?: Partial<Thresholds>) {
  const { snapshot } = await analyzeCapture([await openLines(path(name), process.stdin)], undefined, '2026-12-03T00:00:00.000Z');
  return runRules(snapshot, { only: ['orphan-sockets'], ...(thresholds === undefined ? {} : { thresholds: { 'orphan-sockets': thresholds } }) }).findings;
}

/** pid -> TYPE sock rows of an `lsof -n -P` listing. */
function sockRows(name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of lines(name)) {
    const c = l.split(/\s+/);
    if (c[4] === 'sock') out.set(Number(c[1]), (out.get(Number(c[1])) ?? 0) + 1);
  }
  return out;
}

describe('orphan-sockets: lsof sock rows are orphans by lsof\'s own reading', () => {
  it('lsof -n -P and lsof -F pcfnPtTi of one process holding never-bound sockets: the same finding, count 60', async () => {
    const listing = sockRows('unbound-60.txt');
    expect(listing.size).toBe(1);
    const [pid, count] = [...listing][0]!;
    expect(count).toBe(60);
    // -F: a "tsock" field per fd, of the same process
    const F = lines('unbound-60-F.txt');
    expect(F.filter((l) => l === 'tsock')).toHaveLength(count!);
    expect(F).toContain(`p${pid}`);
    for (const name of ['unbound-60.txt', 'unbound-60-F.txt']) {
      const findings = await orphans(name);
      expect(findings.map((f) => [f.pid, f.count, f.severity, f.confidence]), name).toEqual([[pid, count, 'warning', 'low']]);
      expect(findings[0]!.confidenceReason, name).toMatch(/lsof found these sockets in no table of its own network namespace \(TYPE sock\)/);
      expect(findings[0]!.evidence, name).toEqual([{ protocol: 'TCP', count, fds: expect.any(String) }]);
    }
  });

  it('-F without the inode field ("i"): sock rows still count', async () => {
    const { snapshot } = await analyzeCapture(
      [await openLines('-', Readable.from([lines('unbound-60-F.txt').filter((l) => !l.startsWith('i')).join('\n')]))],
      undefined, '2026-12-03T00:00:00.000Z');
    expect(snapshot.fds.filter((f) => f.kind === 'socket').every((f) => f.inode === null)).toBe(true);
    expect(runRules(snapshot, { only: ['orphan-sockets'] }).findings.map((f) => f.count)).toEqual([60]);
  });
});

describe('orphan-sockets: a host-wide lsof across network namespaces', () => {
  const name = 'host-wide-3-netns.txt';

  it('one piece of advice (lsof -p PID, nsenter) instead of a finding per process in another namespace', async () => {
    const socks = sockRows(name);
    expect(socks.size).toBe(3);
    const all = [...socks.values()].reduce((a, b) => a + b, 0);
    const findings = await orphans(name);
    expect(findings.map((f) => [f.pid, f.count, f.severity, f.confidence])).toEqual([[null, all, 'info', 'low']]);
    const [advice] = findings;
    expect(advice!.evidence.map((e) => [e.pid, e.sockets])).toEqual([...socks].sort((a, b) => b[1] - a[1] || a[0] - b[0]));
    expect(advice!.message).toMatch(/3 processes hold \d+ socket fds that lsof found in no table/);
    expect(advice!.message).toMatch(/lsof -nP -p \d+, or inside its namespace: nsenter --net=\/proc\/\d+\/ns\/net lsof -nP -p \d+/);
  });

  it('the process in lsof\'s own namespace (its sockets are IPv4 rows) is not part of it', async () => {
    const ipv4 = new Set(lines(name).filter((l) => l.split(/\s+/)[4] === 'IPv4').map((l) => Number(l.split(/\s+/)[1])));
    expect(ipv4.size).toBe(1);
    const findings = await orphans(name);
    expect(findings.flatMap((f) => f.evidence.map((e) => e.pid))).not.toContain([...ipv4][0]);
  });

  it('below netnsSpan processes, each one is judged on its own again (the flood it replaces)', async () => {
    const socks = sockRows(name);
    const findings = await orphans(name, { netnsSpan: socks.size + 1 });
    expect(findings.map((f) => [f.pid, f.count]).sort()).toEqual([...socks].sort());
  });
});
