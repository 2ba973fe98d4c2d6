import { Chalk } from 'chalk';
import type { WatchResult } from '../../cli/commands/watch.js';
import { FD_KINDS } from '../../model/fd.js';
import type { ReportContext } from '../context.js';
import { escapeFinding } from '../escape-finding.js';
import { renderFindings } from '../findings-text.js';
import { safeText } from '../../util/safe-text.js';
import { sparkline } from './sparkline.js';

/** The summary `fdleak watch` prints at the end: what was watched, the shape of the fd count, the findings. */
export function watchText(r: WatchResult, ctx: ReportContext): string {
  const c = new Chalk({ level: ctx.color ? 1 : 0 });
  const first = r.points[0]!;
  const last = r.points[r.points.length - 1]!;
  const seconds = (last.at - first.at) / 1000;
  const out: string[] = [];
  out.push(c.bold(`pid ${r.process.pid} ${safeText(r.process.command)}`) + (r.process.cmdline ? c.dim(`  ${safeText(r.process.cmdline.slice(0, 100))}`) : ''));
  const ended = r.end.reason === 'exited' ? c.yellow(safeText(r.end.message)) : r.end.reason === 'interrupted' ? 'interrupted' : 'duration reached';
  out.push(`${r.points.length} sample${r.points.length === 1 ? '' : 's'} over ${seconds.toFixed(1)} s, every ${r.intervalMs} ms; ${ended}`);
  const soft = r.process.fdLimit?.soft;
  out.push(`fds ${first.fds} -> ${last.fds} (${last.fds - first.fds >= 0 ? '+' : ''}${last.fds - first.fds})  ${sparkline(r.points.map((p) => p.fds))}${soft === undefined ? '' : `  soft limit ${soft}`}`);
  const kinds = FD_KINDS.filter((k) => (first.kinds[k] ?? 0) !== (last.kinds[k] ?? 0))
    .map((k) => `${k} ${first.kinds[k] ?? 0} -> ${last.kinds[k] ?? 0}`);
  if (kinds.length > 0) out.push(`by kind: ${kinds.join(', ')}`);
  const grew = r.changes.filter((g) => g.to !== g.from).slice(0, 8);
  if (grew.length > 0) {
    out.push('changed since the first sample:');
    for (const g of grew) out.push(`  ${g.to > g.from ? '+' : ''}${g.to - g.from}\t${g.kind}: ${safeText(g.group)} (${g.from} -> ${g.to})`);
  }
  out.push('');
  out.push(...renderFindings(c, r.findings.map(escapeFinding), false));
  const notes = [...r.skipped.map((s) => `rule ${s.rule} could not run: ${s.reason}`), ...r.warnings];
  if (notes.length > 0) {
    out.push('');
    for (const n of notes) out.push(c.yellow(`note: ${safeText(n)}`));
  }
  return `${out.join('\n')}\n`;
}
