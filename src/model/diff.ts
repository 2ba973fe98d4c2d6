/**
 * Two snapshots compared process by process. A process is the same in both when pid and start time
 * agree (identity.ts); a pid with another start time is a restarted process (or the pid reused),
 * said so and not compared; a pid in one snapshot only is said so too. Fds are compared by key
 * (process, number, target), never by where they were read, and what appeared and vanished is
 * grouped the way a person reads it (sample.ts: files by path, sockets by state and peer, ...).
 */
import type { Fd, FdKind } from './fd.js';
import { fdKey, sameProcess } from './identity.js';
import type { Process } from './process.js';
import type { Groups, Series } from './sample.js';
import { countGroups, fdGrouper, sampleSeries } from './sample.js';
import type { Snapshot } from './snapshot.js';

export interface GroupCount {
  kind: FdKind;
  group: string;
  count: number;
}

export type ProcessDiff =
  | { status: 'compared'; a: Process; b: Process; appeared: GroupCount[]; vanished: GroupCount[]; series: Series;
      /** False when one side holds no fd records (a capture, a denied fd table): appeared/vanished are unknown. */
      fdRecords: boolean }
  /** Same pid, other start time: another process now has the pid. */
  | { status: 'restarted'; a: Process; b: Process }
  /** A pid in one snapshot only. */
  | { status: 'only-a'; a: Process }
  | { status: 'only-b'; b: Process };

export interface SnapshotDiff {
  seconds: number;
  processes: ProcessDiff[];
  /** `b` with a two-point series per compared process: what the fd-growth rule judges. */
  judged: Snapshot;
}

/** Compares `a` (the earlier) with `b`. */
export function diffSnapshots(a: Snapshot, b: Snapshot): SnapshotDiff {
  const processes: ProcessDiff[] = [];
  const series: Series[] = [];
  const fdsA = fdsByPid(a);
  const fdsB = fdsByPid(b);
  for (const pa of a.processes) {
    const pb = b.processes.find((p) => p.pid === pa.pid);
    if (pb === undefined) { processes.push({ status: 'only-a', a: pa }); continue; }
    if (sameProcess(pa, pb) === 'reused') { processes.push({ status: 'restarted', a: pa, b: pb }); continue; }
    const before = fdsA.get(pa.pid) ?? [];
    const after = fdsB.get(pb.pid) ?? [];
    const keysA = new Set(before.map(fdKey));
    const keysB = new Set(after.map(fdKey));
    const groupA = fdGrouper(a, pa.pid);
    const groupB = fdGrouper(b, pb.pid);
    const appeared = countGroups(after.filter((f) => !keysA.has(fdKey(f))), groupB);
    const vanished = countGroups(before.filter((f) => !keysB.has(fdKey(f))), groupA);
    const s = sampleSeries(a, b, pb);
    series.push(s);
    processes.push({
      status: 'compared', a: pa, b: pb, appeared: listed(appeared), vanished: listed(vanished), series: s,
      fdRecords: pa.fdTableComplete && pb.fdTableComplete && (before.length > 0 || pa.fdCount === 0) && (after.length > 0 || pb.fdCount === 0),
    });
  }
  for (const pb of b.processes) if (!a.processes.some((p) => p.pid === pb.pid)) processes.push({ status: 'only-b', b: pb });
  return {
    seconds: (Date.parse(b.takenAt) - Date.parse(a.takenAt)) / 1000,
    processes,
    judged: { ...b, series },
  };
}

function fdsByPid(s: Snapshot): Map<number, Fd[]> {
  const out = new Map<number, Fd[]>();
  for (const f of s.fds) {
    const list = out.get(f.pid);
    if (list === undefined) out.set(f.pid, [f]);
    else list.push(f);
  }
  return out;
}

/** Groups as a list, largest first (ties by label). */
function listed(groups: Groups): GroupCount[] {
  return [...groups].map(([group, g]) => ({ kind: g.kind, group, count: g.n }))
    .sort((x, y) => y.count - x.count || (x.group < y.group ? -1 : x.group > y.group ? 1 : 0));
}
