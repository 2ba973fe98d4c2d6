import type { WatchResult } from '../../cli/commands/watch.js';
import { findingJson } from '../diagnose/json.js';
import { safeJson } from '../../util/safe-text.js';

/** `fdleak watch --json`: one fdleak/watch@1 document, the samples' figures and the findings. */
export function watchJson(r: WatchResult): string {
  const p = r.process;
  const doc = {
    schema: 'fdleak/watch@1',
    process: { pid: p.pid, startTime: p.startTime, command: p.command, cmdline: p.cmdline, fdLimit: p.fdLimit, netns: p.netns, location: p.location ?? null },
    intervalMs: r.intervalMs,
    durationMs: r.durationMs,
    ended: r.end.reason,
    ...(r.end.reason === 'exited' ? { endedBecause: r.end.message } : {}),
    samples: r.points.map((s) => ({ at: new Date(s.at).toISOString(), fds: s.fds, byKind: s.kinds })),
    changes: r.changes,
    findings: r.findings.map(findingJson),
    skippedRules: r.skipped,
    warnings: r.warnings,
  };
  return `${safeJson(doc, 2)}\n`;
}
