import type { Fd } from '../../model/fd.js';
import type { FdKind } from '../../model/fd-kinds.js';
import { countAnonTypes, countKinds } from '../../model/fd-kinds.js';
import type { Finding } from '../../model/finding.js';
import type { Process } from '../../model/process.js';
import type { Snapshot } from '../../model/snapshot.js';
import { orphanSocketFds, socketsByOwner } from '../../model/queries.js';
import type { SkippedRule } from '../../rules/engine.js';
import { countBy, compareText } from '../../util/group-by.js';
import { safeJson } from '../../util/safe-text.js';

/** The facts about one process every reporter shows: fds by kind, sockets by state, orphans. */
export interface ProcessSummary {
  process: Process;
  fds: { total: number; byKind: Record<FdKind, number> };
  sockets: { total: number; orphans: number; byState: Record<string, number> };
}

/**
 * Summarises one process of a snapshot. The snapshot is indexed once (fds and owned sockets by pid,
 * the inodes in its tables) and the index kept beside it (a built snapshot does not change), so
 * summarising every process of a large capture stays one pass over its records.
 */
export function summarize(snapshot: Snapshot, process: Process): ProcessSummary {
  const index = indexOf(snapshot);
  const fds = index.fds.get(process.pid) ?? [];
  const byKind = process.fdKinds === null ? countKinds(fds) : { ...countKinds([]), ...process.fdKinds };
  // Sockets by owning pid, each socket once per pid however many of its fds it holds: the rules'
  // index of the same snapshot (built once; 5-8 ms over a 15,000-fd process's rows).
  const owned = socketsByOwner(snapshot).get(process.pid) ?? [];
  // Socket fds in no table of its namespace, with an inode: the orphan-sockets rule's index of the
  // same snapshot (built once; asking every fd again cost 8-10 ms on a 15,000-fd diagnose), which
  // also counts the fds a large capture folded.
  const orphans = orphanSocketFds(snapshot).get(process.pid)?.withInode ?? 0;
  const byState: Record<string, number> = {};
  const states = countBy(owned, (s) => s.state ?? (s.proto === 'tcp' ? 'UNKNOWN' : `${s.proto.toUpperCase()}`));
  for (const [state, n] of [...states].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]))) byState[state] = n;
  const socketFds = byKind.socket > 0 || fds.length > 0 ? byKind.socket : owned.length;
  return { process, fds: { total: process.fdCount, byKind }, sockets: { total: socketFds, orphans, byState } };
}

interface SummaryIndex {
  fds: Map<number, Fd[]>;
  /** The anon_inode fds of the snapshot, in order (countAnonTypes counts only those). */
  anon: Fd[];
}

const indexes = new WeakMap<Snapshot, SummaryIndex>();

function indexOf(snapshot: Snapshot): SummaryIndex {
  let index = indexes.get(snapshot);
  if (index !== undefined) return index;
  // Indexed loops: this runs once per snapshot, cold, where for-of costs several times more.
  const fds = new Map<number, Fd[]>();
  const anon: Fd[] = [];
  const all = snapshot.fds;
  for (let i = 0; i < all.length; i++) {
    const f = all[i]!;
    if (f.kind === 'anon_inode') anon.push(f);
    const list = fds.get(f.pid);
    if (list === undefined) fds.set(f.pid, [f]);
    else list.push(f);
  }
  index = { fds, anon };
  indexes.set(snapshot, index);
  return index;
}

/** `fdleak diagnose --json`, exactly the contract's shape (schema fdleak/diagnose@1). */
export function diagnoseJson(snapshot: Snapshot, findings: readonly Finding[], skipped: readonly SkippedRule[], asked?: { tid: number; name: string | null }): string {
  const process = snapshot.processes[0]!;
  const s = summarize(snapshot, process);
  const doc = {
    schema: 'fdleak/diagnose@1',
    takenAt: snapshot.takenAt,
    process: {
      pid: process.pid, command: process.command, cmdline: process.cmdline,
      fdLimit: process.fdLimit, netns: process.netns,
      // `diagnose <tid>` of a thread: the thread asked for (the process holds the fds).
      ...(asked === undefined ? {} : { askedThread: asked }),
      location: process.location ?? null,
    },
    // The anon fds the summary's pass set apart: countAnonTypes' own for-of over every fd was 9 ms
    // under --cpu-prof (15,000 fds, 20 of them anon), now under 1.
    fds: { ...s.fds, anonByType: countAnonTypes(indexOf(snapshot).anon) },
    sockets: s.sockets,
    findings: findings.map(findingJson),
    skippedRules: skipped,
    warnings: snapshot.warnings,
  };
  return `${safeJson(doc, 2)}\n`;
}

/** A finding in the contract's key order; confidence only when it is low. */
export function findingJson(f: Finding): Record<string, unknown> {
  return {
    rule: f.rule, severity: f.severity, score: f.score, pid: f.pid, command: f.command, count: f.count,
    message: f.message, evidence: f.evidence, advice: f.advice,
    ...(f.confidence === 'low' ? { confidence: 'low', confidenceReason: f.confidenceReason ?? null } : {}),
  };
}
