/**
 * A process over time, kept small: per sample only its fd count by kind (a 15,000-fd process watched
 * for 10 minutes at 100 ms keeps 6,000 of these, not 90 million fd records), and what grew between
 * the first sample and the last, grouped the way a person reads it: files by path, sockets by state
 * and peer or listener, pipes, anon inodes by type. `fd-growth` judges a series.
 */
import { z } from './zod.js';
import type { Fd, FdKind } from './fd.js';
import { countKinds } from './fd-kinds.js';
import { FdKindSchema } from './fd.js';
import type { Process } from './process.js';
import type { Snapshot } from './snapshot.js';
import type { Socket } from './socket.js';
import { isWildcard, listenerCovers } from './queries.js';
import { formatEndpoint } from '../util/format.js';

const Count = z.number().check(z.int(), z.nonnegative());

/** One sample of one process: when (ms since the epoch), open fds, and by kind. */
const SamplePointSchema = z.object({ at: z.number(), fds: Count, kinds: z.record(FdKindSchema, Count) });
export type SamplePoint = z.infer<typeof SamplePointSchema>;

/** A group of fds that changed between the first and the last sample. */
const GroupChangeSchema = z.object({ kind: FdKindSchema, group: z.string(), from: Count, to: Count });
export type GroupChange = z.infer<typeof GroupChangeSchema>;

/** The samples of one process (pid + start time), oldest first, and the groups that changed. */
export const SeriesSchema = z.object({
  pid: z.number().check(z.int(), z.positive()),
  startTime: z.nullable(Count),
  points: z.array(SamplePointSchema),
  changes: z.array(GroupChangeSchema),
});
export type Series = z.infer<typeof SeriesSchema>;

/** Groups kept in a series' `changes`: the largest changes first. */
const MAX_CHANGES = 20;

/** The sample point of `process` in `snapshot`. */
export function pointOf(snapshot: Snapshot, process: Process): SamplePoint {
  const kinds = process.fdKinds === null ? countKinds(snapshot.fds.filter((f) => f.pid === process.pid)) : { ...countKinds([]), ...process.fdKinds };
  return { at: Date.parse(snapshot.takenAt), fds: process.fdCount, kinds };
}

/** Group label -> { kind, count } for one process's fds. */
export type Groups = Map<string, { kind: FdKind; n: number }>;

/**
 * The group of each fd of `pid`: "/var/log/app.log"; "tcp ESTABLISHED to 127.0.0.1:3306";
 * "tcp ESTABLISHED from clients of 0.0.0.0:8080"; "udp bound to 127.0.0.1"; "pipe"; "eventfd".
 */
export function fdGrouper(snapshot: Snapshot, pid: number): (fd: Fd) => string {
  const byFd = new Map<number, Socket>();
  const listeners: Socket[] = [];
  for (const s of snapshot.sockets) {
    for (const o of s.owners) {
      if (o.pid !== pid) continue;
      if (o.fd !== null) byFd.set(o.fd, s);
      if (s.state === 'LISTEN') listeners.push(s);
    }
  }
  return (f) => {
    switch (f.kind) {
      case 'file': return f.target;
      case 'pipe': return 'pipe';
      case 'anon_inode': return f.target.replace(/^anon_inode:\[?([^\]]*)\]?$/, '$1');
      case 'socket': return socketGroup(byFd.get(f.fd), listeners);
      default: return f.target.replace(/:\[?\d*\]?$/, '') || 'other';
    }
  };
}

/** Counts of `fds` by group. */
export function countGroups(fds: Iterable<Fd>, group: (fd: Fd) => string): Groups {
  const groups: Groups = new Map();
  for (const f of fds) {
    const label = group(f);
    const g = groups.get(label);
    if (g === undefined) groups.set(label, { kind: f.kind, n: 1 });
    else g.n++;
  }
  return groups;
}

/** The fds of `pid` in `snapshot` by group. */
export function groupsOf(snapshot: Snapshot, pid: number): Groups {
  return countGroups(snapshot.fds.filter((f) => f.pid === pid), fdGrouper(snapshot, pid));
}

function socketGroup(s: Socket | undefined, listeners: Socket[]): string {
  if (s === undefined) return 'socket with no row in its namespace\'s tables (orphan)';
  const state = s.state ?? s.detail ?? '';
  const proto = s.proto === 'unix' ? 'unix' : s.family === 'inet6' ? `${s.proto}6` : s.proto;
  const head = state === '' ? proto : `${proto} ${state}`;
  if (s.proto === 'unix') return `${head} ${s.local === null || s.local.address === '' ? '(unnamed)' : s.local.address}`;
  if (s.state === 'LISTEN') return `${head} ${formatEndpoint(s.local)}`;
  const remote = s.remote;
  if (remote !== null && !(isWildcard(remote.address) && (remote.port ?? 0) === 0)) {
    const listener = listeners.find((l) => listenerCovers(l, s.local));
    return listener === undefined ? `${head} to ${formatEndpoint(remote)}` : `${head} from clients of ${formatEndpoint(listener.local)}`;
  }
  return `${head} bound to ${s.local === null ? '-' : s.local.address}`;
}

/** Groups whose count changed from `first` to `last`, largest change first (ties: by label), at most `limit`. */
export function changedGroups(first: Groups, last: Groups, limit = MAX_CHANGES): GroupChange[] {
  const out: GroupChange[] = [];
  for (const [group, g] of last) {
    const from = first.get(group)?.n ?? 0;
    if (from !== g.n) out.push({ kind: g.kind, group, from, to: g.n });
  }
  for (const [group, g] of first) if (!last.has(group)) out.push({ kind: g.kind, group, from: g.n, to: 0 });
  out.sort((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from) || (b.to - b.from) - (a.to - a.from) || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return out.slice(0, limit);
}

/**
 * Samples of one process as they come: each sample's point kept, its fds grouped and only the
 * first and the latest grouping kept (memory stays flat however long the watch).
 */
export class SeriesRecorder {
  readonly points: SamplePoint[] = [];
  private first: Groups | undefined;
  private last: Groups | undefined;

  constructor(readonly pid: number, readonly startTime: number | null) {}

  /** Adds the sample of this process in `snapshot`; returns its point. */
  add(snapshot: Snapshot, process: Process): SamplePoint {
    const point = pointOf(snapshot, process);
    this.points.push(point);
    this.last = groupsOf(snapshot, this.pid);
    this.first ??= this.last;
    return point;
  }

  /** Groups that changed from the first sample to the latest. */
  changes(limit = MAX_CHANGES): GroupChange[] {
    return this.first === undefined || this.last === undefined ? [] : changedGroups(this.first, this.last, limit);
  }

  series(): Series {
    return { pid: this.pid, startTime: this.startTime, points: this.points, changes: this.changes() };
  }
}

/** Two snapshots of one process as a two-point series (`diagnose --sample`). */
export function sampleSeries(first: Snapshot, second: Snapshot, process: Process): Series {
  const before = first.processes.find((p) => p.pid === process.pid)!;
  return {
    pid: process.pid, startTime: process.startTime,
    points: [pointOf(first, before), pointOf(second, process)],
    changes: changedGroups(groupsOf(first, process.pid), groupsOf(second, process.pid)),
  };
}
