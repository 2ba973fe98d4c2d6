/**
 * `scan --sample`: the whole box read twice, each process matched by pid + start time, and its fd
 * growth per second between its two reads (each read timed by its own fd walk). A process that
 * restarted (same pid, another start time), appeared or vanished in between is said so, never
 * diffed. Pure: the two scans in, the comparison out; fd-growth judges the two points as it
 * judges `diagnose --sample` (growthSnapshot).
 */
import type { FdKind } from './fd.js';
import type { Process } from './process.js';
import type { Series } from './sample.js';
import type { ScanSnapshot } from './scan.js';
import type { Snapshot } from './snapshot.js';

/** One process's fds at one read: when (ms since the epoch) and by kind (null where its links were refused). */
export interface ReadPoint {
  at: number;
  kinds: Record<FdKind, number> | null;
}

export interface ProcessGrowth {
  /** compared: the same process in both reads; restarted: the pid now belongs to another process; appeared: not in the first read. */
  status: 'compared' | 'restarted' | 'appeared';
  from: number | null;
  to: number | null;
  /** Seconds between its two reads (compared only). */
  seconds: number | null;
  /** (to - from) / seconds; null unless compared with both counts known. */
  perSecond: number | null;
  /** Change per kind between the two reads (kinds that changed); null where either read's links were refused. */
  byKind: Partial<Record<FdKind, number>> | null;
  /** The two points, for fd-growth (compared only). */
  points: [SeriesPoint, SeriesPoint] | null;
}

type SeriesPoint = Series['points'][number];

export interface ScanGrowth {
  /** The sample asked for (ms between the reads' starts). */
  sampleMs: number;
  byPid: Map<number, ProcessGrowth>;
  /** In the first read, gone by the second (or exited during it). */
  vanished: Array<{ pid: number; command: string }>;
  /** Pid reused in between: who it was. */
  restarted: Array<{ pid: number; was: string; now: string }>;
}

/**
 * Pure: the growth of every process of `second` against `first`. Example: pid 7 (start 100) with
 * 10 fds read at t, 25 at t + 3000 ms -> { status: "compared", from: 10, to: 25, seconds: 3, perSecond: 5 }.
 */
export function compareScans(
  first: ScanSnapshot, firstReads: ReadonlyMap<number, ReadPoint>,
  second: ScanSnapshot, secondReads: ReadonlyMap<number, ReadPoint>,
  sampleMs: number,
): ScanGrowth {
  const before = new Map(first.processes.map((p) => [p.pid, p]));
  const byPid = new Map<number, ProcessGrowth>();
  const restarted: ScanGrowth['restarted'] = [];
  const none = { from: null, seconds: null, perSecond: null, byKind: null, points: null };
  for (const p of second.processes) {
    const a = before.get(p.pid);
    if (a === undefined) {
      byPid.set(p.pid, { status: 'appeared', ...none, to: p.fds });
      continue;
    }
    if (a.startTime !== p.startTime) {
      byPid.set(p.pid, { status: 'restarted', ...none, to: p.fds });
      restarted.push({ pid: p.pid, was: a.command, now: p.command });
      continue;
    }
    const ra = firstReads.get(p.pid);
    const rb = secondReads.get(p.pid);
    const atA = ra?.at ?? Date.parse(first.takenAt);
    const atB = rb?.at ?? Date.parse(second.takenAt);
    const seconds = (atB - atA) / 1000;
    const known = a.fds !== null && p.fds !== null && seconds > 0;
    byPid.set(p.pid, {
      status: 'compared', from: a.fds, to: p.fds,
      seconds: Math.round(seconds * 1000) / 1000,
      perSecond: known ? (p.fds! - a.fds!) / seconds : null,
      byKind: ra?.kinds == null || rb?.kinds == null ? null : kindChange(ra.kinds, rb.kinds),
      points: !known ? null : [
        { at: atA, fds: a.fds!, kinds: ra?.kinds ?? NO_KINDS },
        { at: atB, fds: p.fds!, kinds: rb?.kinds ?? NO_KINDS },
      ],
    });
  }
  const now = new Set(second.processes.map((p) => p.pid));
  const vanished = first.processes.filter((p) => !now.has(p.pid)).map((p) => ({ pid: p.pid, command: p.command }));
  return { sampleMs, byPid, vanished, restarted };
}

/** Kinds of a process whose links were refused: none rises, so fd-growth names none. */
const NO_KINDS: Record<FdKind, number> = { socket: 0, pipe: 0, file: 0, anon_inode: 0, other: 0 };

function kindChange(a: Record<FdKind, number>, b: Record<FdKind, number>): Partial<Record<FdKind, number>> {
  const out: Partial<Record<FdKind, number>> = {};
  for (const k of Object.keys(b) as FdKind[]) if (b[k] !== a[k]) out[k] = b[k] - (a[k] ?? 0);
  return out;
}

/**
 * A snapshot holding, for fd-growth, the two points of each process that grew (the rule's input in
 * `diagnose --sample` too): the processes' identity and limits, no fd records (`changes` is empty:
 * scan does not keep what each fd is, only how many of each kind).
 */
export function growthSnapshot(second: ScanSnapshot, growth: ScanGrowth): Snapshot {
  const processes: Process[] = [];
  const series: Series[] = [];
  for (const p of second.processes) {
    const g = growth.byPid.get(p.pid);
    if (g?.points == null || g.perSecond === null || g.perSecond <= 0) continue;
    processes.push({
      pid: p.pid, command: p.command, cmdline: null, uid: null, startTime: p.startTime,
      fdCount: p.fds ?? 0, fdTableComplete: p.unseen !== 'permission', fdLimit: p.fdLimit, netns: p.netns,
      threads: null, fdKinds: g.points[1].kinds, location: p.location,
    });
    series.push({ pid: p.pid, startTime: p.startTime, points: [...g.points], changes: [] });
  }
  return {
    schema: 'fdleak/snapshot@1', takenAt: second.takenAt, kind: 'live', processes, fds: [], sockets: [], namespaces: [],
    host: { fileNr: second.host.fileNr, nrOpen: second.host.nrOpen },
    coverage: { fdTables: false, socketTables: false, netnsAware: false, limits: true, sysctls: false, ownerlessRows: false },
    warnings: [], series,
  };
}
