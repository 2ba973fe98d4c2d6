import { Chalk } from 'chalk';
import type { CaptureResult } from '../../capture/capture.js';
import type { Finding } from '../../model/finding.js';
import type { SkippedRule } from '../../rules/engine.js';
import { byFindings } from './json.js';
import type { ReportContext } from '../context.js';
import { analyzeSummary } from './summary.js';
import { renderFindings, SHOWN_FINDINGS, textTable } from '../findings-text.js';
import type { Judged } from './judged.js';
import { judgedText } from './judged.js';
import { safeText } from '../../util/safe-text.js';

const TOP = 15;

/** The terminal report of `fdleak analyze`: inputs, processes ranked, findings across processes. */
export function analyzeTable(capture: CaptureResult, findings: readonly Finding[], skipped: readonly SkippedRule[], judged: Judged, ctx: ReportContext): string {
  const c = new Chalk({ level: ctx.color ? 1 : 0 });
  const { snapshot, inputs } = capture;
  const out: string[] = [];
  for (const i of inputs) {
    out.push(c.bold(safeText(i.source)) + `: ${i.format}, ${i.lines} lines, ${i.records} records` + (i.skipped > 0 ? c.yellow(`, ${i.skipped} lines skipped`) : ''));
    for (const a of i.assumed) out.push(`  assumed: ${safeText(a)}`);
  }
  for (const a of capture.assumed) out.push(`assumed: ${a}`);
  out.push('');
  const ranked = byFindings(snapshot, findings);
  if (ranked.length > 0) {
    const fdKnown = snapshot.coverage.fdTables;
    const head = ['pid', 'command', ...(fdKnown ? ['fds', 'sockets', 'orphans'] : ['sockets']), 'sockets by state'];
    const rows = ranked.slice(0, TOP).map((p) => {
      const s = analyzeSummary(snapshot, p);
      const states = Object.entries(s.sockets.byState).slice(0, 4).map(([k, v]) => `${safeText(k)} ${v}`).join(', ');
      return [p.pid, safeText(p.command), ...(fdKnown ? [p.fdKinds === null ? '-' : p.fdCount, s.sockets.total, s.sockets.orphans] : [s.sockets.total]), states];
    });
    out.push(textTable(head, rows));
    if (ranked.length > TOP) out.push(c.dim(`(+${ranked.length - TOP} more processes; --json lists all)`));
    out.push('');
  }
  out.push(...renderFindings(c, findings, true, SHOWN_FINDINGS, judgedText(snapshot, judged)));
  const notes = [
    ...skipped.map((r) => `rule ${r.rule} could not run: ${r.reason}`),
    ...capture.skippedLines.slice(0, 5).map((l) => `${l.source}:${l.line}: skipped: ${l.reason}`),
    ...snapshot.warnings,
  ];
  if (notes.length > 0) {
    out.push('');
    for (const n of notes) out.push(c.yellow(`note: ${safeText(n)}`));
  }
  return `${out.join('\n')}\n`;
}
