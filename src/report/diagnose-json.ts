import type { FdKind } from '../model/fd.js';
import { countKinds } from '../model/fd.js';
import type { Finding } from '../model/finding.js';
import type { Process } from '../model/process.js';
import type { Snapshot } from '../model/snapshot.js';
import type { SkippedRule } from '../rules/engine.js';
import { countBy } from '../util/group-by.js';

/** The facts about one process every reporter shows: fds by kind, sockets by state, orphans. */
export interface ProcessSummary {
  process: Process;
  fds: { total: number; byKind: Record<FdKind, number> };
  sockets: { total: number; orphans: number; byState: Record<string, number> };
}

/** Summarises one process of a snapshot. */
export function summarize(snapshot: Snapshot, process: Process): ProcessSummary {
  const fds = snapshot.fds.filter((f) => f.pid === process.pid);
  const byKind = process.fdKinds === null ? countKinds(fds) : { ...countKinds([]), ...process.fdKinds };
  const owned = snapshot.sockets.filter((s) => s.owners.some((o) => o.pid === process.pid));
  const tableInodes = new Set(snapshot.sockets.map((s) => s.inode));
  const orphans = fds.filter((f) => f.kind === 'socket' && f.inode !== null && !tableInodes.has(f.inode)).length;
  const byState: Record<string, number> = {};
  const states = countBy(owned, (s) => s.state ?? (s.proto === 'tcp' ? 'UNKNOWN' : `${s.proto.toUpperCase()}`));
  for (const [state, n] of [...states].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) byState[state] = n;
  const socketFds = byKind.socket > 0 || fds.length > 0 ? byKind.socket : owned.length;
  return { process, fds: { total: process.fdCount, byKind }, sockets: { total: socketFds, orphans, byState } };
}

/** `fdleak diagnose --json`, exactly the contract's shape (schema fdleak/diagnose@1). */
export function diagnoseJson(snapshot: Snapshot, findings: readonly Finding[], skipped: readonly SkippedRule[]): string {
  const process = snapshot.processes[0]!;
  const s = summarize(snapshot, process);
  const doc = {
    schema: 'fdleak/diagnose@1',
    takenAt: snapshot.takenAt,
    process: {
      pid: process.pid, command: process.command, cmdline: process.cmdline,
      fdLimit: process.fdLimit, netns: process.netns,
    },
    fds: s.fds,
    sockets: s.sockets,
    findings: findings.map(findingJson),
    skippedRules: skipped,
    warnings: snapshot.warnings,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A finding in the contract's key order; confidence only when it is low. */
export function findingJson(f: Finding): Record<string, unknown> {
  return {
    rule: f.rule, severity: f.severity, score: f.score, pid: f.pid, command: f.command, count: f.count,
    message: f.message, evidence: f.evidence, advice: f.advice,
    ...(f.confidence === 'low' ? { confidence: 'low', confidenceReason: f.confidenceReason ?? null } : {}),
  };
}
