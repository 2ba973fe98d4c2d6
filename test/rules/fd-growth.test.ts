import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import { FD_KINDS } from '../../src/model/fd.js';
import type { FdKind } from '../../src/model/fd.js';
import type { SamplePoint } from '../../src/model/sample.js';
import { sampleSeries } from '../../src/model/sample.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { runRules } from '../../src/rules/engine.js';
import { goldenText, RULE_FIXTURES } from '../helpers/rule-case.js';

/** fixtures/rules/fd-growth/<name>: two captured /proc trees of one process, and when each was taken. */
async function twoReads(name: string): Promise<Snapshot> {
  const dir = `${RULE_FIXTURES}fd-growth/${name}`;
  const times = JSON.parse(readFileSync(`${dir}/times.json`, 'utf8')) as { pid: number; first: string; second: string };
  const a = await collectLiveProcess(times.pid, { procRoot: `${dir}/first`, now: () => new Date(times.first) });
  const b = await collectLiveProcess(times.pid, { procRoot: `${dir}/second`, now: () => new Date(times.second) });
  return { ...b, series: [sampleSeries(a, b, b.processes[0]!)] };
}

/** A series of `fds` counts one second apart, all of kind `kind`, as a snapshot fd-growth judges. */
function series(fds: number[], soft = 1024, kind: FdKind = 'pipe'): Snapshot {
  const points: SamplePoint[] = fds.map((n, i) => ({
    at: Date.parse('2026-11-22T00:00:00.000Z') + i * 1000,
    fds: n, kinds: Object.fromEntries(FD_KINDS.map((k) => [k, k === kind ? n : 0])) as SamplePoint['kinds'],
  }));
  return {
    schema: 'fdleak/snapshot@1', takenAt: '2026-11-22T00:00:10.000Z', kind: 'live',
    processes: [{ pid: 7, command: 'w', cmdline: null, uid: 0, startTime: 1, fdCount: fds[fds.length - 1]!, fdTableComplete: true,
      fdLimit: { soft, hard: 4096 }, netns: null, threads: 1, fdKinds: null }],
    fds: [], sockets: [], namespaces: [], host: { fileNr: null, nrOpen: null },
    coverage: { fdTables: true, socketTables: true, netnsAware: true, limits: true, sysctls: true, ownerlessRows: true },
    warnings: [], series: [{ pid: 7, startTime: 1, points, changes: [] }],
  };
}

const judge = (s: Snapshot) => runRules(s, { only: ['fd-growth'] }).findings;

describe('fd-growth', () => {
  it('fires on two reads of a worker leaking 5 fds a second: the rate, the three kinds, the time to the limit', async () => {
    const snapshot = await twoReads('fires-steady-leak');
    const findings = judge(snapshot);
    expect(findings.map((f) => [f.rule, f.severity, f.confidence])).toEqual([['fd-growth', 'critical', 'low']]);
    const head = findings[0]!.evidence[0]!;
    // The leaker opens one fd every 200 ms: 300 a minute, whatever the capture's gap.
    expect(Math.abs(Number(head.perMinute) - 300) / 300).toBeLessThan(0.2);
    expect(findings[0]!.evidence.slice(1, 4).map((e) => e.what).sort()).toEqual(['files', 'pipes', 'sockets']);
    expect(head.minutesToLimit).toBeGreaterThan(0);
    await expect(goldenText(findings)).toMatchFileSnapshot('../../fixtures/rules/fd-growth/fires-steady-leak/expected.json');
  });

  it('stays quiet on two reads of a busy process whose keep-alive connections are replaced every 2 s', async () => {
    expect(judge(await twoReads('quiet-keepalive-churn'))).toEqual([]);
  });

  it('one outlier sample neither makes nor breaks it', () => {
    // Steady growth of 5 a second with one sample read during a burst (+300) or a dip (-40).
    expect(judge(series([10, 15, 20, 25, 330, 35, 40, 45]))[0]!.evidence[0]!.perMinute).toBe(300);
    expect(judge(series([10, 15, 20, 25, 0, 35, 40, 45]))[0]!.evidence[0]!.perMinute).toBe(300);
    // Flat with one spike: no growth.
    expect(judge(series([50, 50, 51, 50, 400, 50, 49, 50]))).toEqual([]);
  });

  it('a pool that filled and levelled off is info, not a leak', () => {
    const findings = judge(series([10, 18, 26, 34, 40, 40, 40, 40, 40, 40, 40]));
    expect(findings.map((f) => [f.severity, f.evidence[0]!.shape])).toEqual([['info', 'levelled off']]);
  });

  it('thresholds: minGrowth, criticalMinutes', () => {
    const s = series([10, 12, 14, 16, 18, 20]); // 2 a second, 120 a minute, 10 over the window
    expect(runRules(s, { only: ['fd-growth'], thresholds: { 'fd-growth': { minGrowth: 11 } } }).findings).toEqual([]);
    // 1004 fds left at 120 a minute: about 8 minutes.
    expect(judge(s).map((f) => [f.severity, f.evidence[0]!.minutesToLimit])).toEqual([['critical', 8.4]]);
    expect(runRules(s, { only: ['fd-growth'], thresholds: { 'fd-growth': { criticalMinutes: 5 } } }).findings.map((f) => f.severity)).toEqual(['warning']);
  });

  it('says nothing without samples (one moment) or with one sample', () => {
    expect(judge({ ...series([10]), series: undefined })).toEqual([]);
    expect(judge(series([10]))).toEqual([]);
  });
});
