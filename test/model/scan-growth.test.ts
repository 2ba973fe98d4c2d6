/**
 * compareScans on two scans of the captured tree fixtures/scan/basic/proc, the second changed the
 * way a box changes between two reads: a pid reused by another process (new start time), a
 * process gone, one new, one grown. Each process's two reads are timed by its own walk.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scanProcesses } from '../../src/live/scan.js';
import { compareScans, growthSnapshot } from '../../src/model/scan-growth.js';
import type { ScanSnapshot } from '../../src/model/scan.js';
import { SnapshotSchema } from '../../src/model/snapshot.js';
import { runRules } from '../../src/rules/engine.js';

const ROOT = fileURLToPath(new URL('../../fixtures/scan/basic/proc', import.meta.url));

async function read() {
  return scanProcesses({ procRoot: ROOT, kinds: true });
}

describe('compareScans', () => {
  it('compares the same process only: restarted, vanished and appeared are said so, not diffed', async () => {
    const a = await read();
    const b = await read();
    const s2: ScanSnapshot = b.snapshot;
    const reused = s2.processes.find((p) => p.pid === 19453)!;
    reused.startTime = (reused.startTime ?? 0) + 500;
    reused.command = 'other';
    s2.processes = s2.processes.filter((p) => p.pid !== 19454);
    s2.processes.push({ ...s2.processes[0]!, pid: 30000, startTime: 1 });
    const grown = s2.processes.find((p) => p.pid === 19448)!;
    grown.fds = grown.fds! + 15;
    const walked = new Map(b.walked!);
    walked.set(19448, { at: a.walked!.get(19448)!.at + 3000, kinds: { ...a.walked!.get(19448)!.kinds!, pipe: a.walked!.get(19448)!.kinds!.pipe + 15 } });
    const g = compareScans(a.snapshot, a.walked!, s2, walked, 3000);
    expect(g.byPid.get(19453)).toMatchObject({ status: 'restarted', perSecond: null, from: null });
    expect(g.restarted).toEqual([{ pid: 19453, was: 'churn', now: 'other' }]);
    expect(g.vanished).toEqual([{ pid: 19454, command: 'my (odd) name' }]);
    expect(g.byPid.get(30000)).toMatchObject({ status: 'appeared', perSecond: null });
    expect(g.byPid.get(19448)).toMatchObject({ status: 'compared', from: 43, to: 58, seconds: 3, perSecond: 5, byKind: { pipe: 15 } });
    expect(g.byPid.get(19449)).toMatchObject({ status: 'compared', from: 9, to: 9, perSecond: 0, byKind: {} });

    // fd-growth judges the one process that grew, on a snapshot the schema accepts, with the kind that grew.
    const snap = growthSnapshot(s2, g);
    expect(SnapshotSchema.safeParse(snap).success).toBe(true);
    const { findings } = runRules(snap, { only: ['fd-growth'] });
    expect(findings.map((f) => [f.pid, f.severity, f.confidence])).toEqual([[19448, 'warning', 'low']]);
    expect(findings[0]!.evidence.map((e) => e.what)).toEqual(['all fds', 'pipes']);
  });

  it('a plain scan does no kind counting and keeps no walk times', async () => {
    const plain = await scanProcesses({ procRoot: ROOT });
    expect(plain.walked).toBeUndefined();
    const sampled = await read();
    expect([...sampled.walked!.values()].every((w) => w.kinds !== null && typeof w.at === 'number')).toBe(true);
    // The kinds the walk counted add up to the fd count it reports.
    for (const p of sampled.snapshot.processes) {
      const k = sampled.walked!.get(p.pid)!.kinds!;
      expect(Object.values(k).reduce((n, x) => n + x, 0)).toBe(p.fds);
    }
  });
});
