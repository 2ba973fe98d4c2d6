import type { Finding } from '../../model/finding.js';
import type { ProcessDiff, SnapshotDiff } from '../../model/diff.js';
import type { Process } from '../../model/process.js';
import { findingJson } from '../diagnose/json.js';
import { safeJson } from '../../util/safe-text.js';
import type { DiffFiles } from './text.js';

/** `fdleak diff --json`: one fdleak/diff@1 document. */
export function diffJson(files: DiffFiles, d: SnapshotDiff, findings: readonly Finding[]): string {
  const doc = {
    schema: 'fdleak/diff@1',
    a: files.a,
    b: files.b,
    seconds: d.seconds,
    processes: d.processes.map(processJson),
    findings: findings.map(findingJson),
  };
  return `${safeJson(doc, 2)}\n`;
}

function ident(p: Process): Record<string, unknown> {
  return { pid: p.pid, startTime: p.startTime, command: p.command, fds: p.fdCount };
}

function processJson(p: ProcessDiff): Record<string, unknown> {
  switch (p.status) {
    case 'only-a': return { status: 'only-a', pid: p.a.pid, a: ident(p.a), b: null };
    case 'only-b': return { status: 'only-b', pid: p.b.pid, a: null, b: ident(p.b) };
    case 'restarted': return { status: 'restarted', pid: p.b.pid, a: ident(p.a), b: ident(p.b) };
    case 'compared':
      return {
        status: 'compared', pid: p.b.pid, a: ident(p.a), b: ident(p.b), change: p.b.fdCount - p.a.fdCount,
        fdRecords: p.fdRecords, appeared: p.fdRecords ? p.appeared : null, vanished: p.fdRecords ? p.vanished : null,
      };
  }
}
