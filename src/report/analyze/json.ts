import type { Finding } from '../../model/finding.js';
import { rankProcesses } from '../../model/queries.js';
import type { Snapshot } from '../../model/snapshot.js';
import type { SkippedRule } from '../../rules/engine.js';
import type { CaptureResult } from '../../capture/capture.js';
import { findingJson } from '../diagnose/json.js';
import { analyzeSummary } from './summary.js';
import { safeJson } from '../../util/safe-text.js';
import type { Judged } from './judged.js';

/** Processes of a capture in report order: most severe finding first, then most fds (model/queries.ts rankProcesses). */
export function byFindings(snapshot: Snapshot, findings: readonly Finding[]): Snapshot['processes'] {
  const worst = new Map<number, number>();
  findings.forEach((f, i) => { if (f.pid !== null && !worst.has(f.pid)) worst.set(f.pid, i); });
  return rankProcesses(snapshot.processes, (p) => (worst.has(p.pid) ? -worst.get(p.pid)! : null), (p) => p.fdCount);
}

/** `fdleak analyze --json` (schema fdleak/analyze@1). */
export function analyzeJson(capture: CaptureResult, findings: readonly Finding[], skipped: readonly SkippedRule[], judged: Judged): string {
  const { snapshot, inputs } = capture;
  const doc = {
    schema: 'fdleak/analyze@1',
    input: {
      format: [...new Set(inputs.map((i) => i.format))].join('+'),
      lines: inputs.reduce((n, i) => n + i.lines, 0),
      skipped: inputs.reduce((n, i) => n + i.skipped, 0),
      files: inputs.map((i) => ({ source: i.source, format: i.format, lines: i.lines, skipped: i.skipped, ...(i.assumed.length > 0 ? { assumed: i.assumed } : {}) })),
      ...(capture.assumed.length > 0 ? { assumed: capture.assumed } : {}),
    },
    processes: byFindings(snapshot, findings).map((p) => {
      const s = analyzeSummary(snapshot, p);
      return {
        pid: p.pid, command: p.command,
        fds: p.fdKinds === null ? null : p.fdCount,
        sockets: s.sockets.total, orphanSockets: snapshot.coverage.fdTables ? s.sockets.orphans : null,
        byState: s.sockets.byState,
      };
    }),
    findings: findings.map(findingJson),
    judged,
    skippedRules: skipped,
    skippedLines: capture.skippedLines.map((l) => ({ source: l.source, line: l.line, reason: l.reason })),
    warnings: snapshot.warnings,
  };
  return `${safeJson(doc, 2)}\n`;
}
