import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { Finding, Severity } from '../model/finding.js';
import type { Snapshot } from '../model/snapshot.js';
import type { SkippedRule } from '../rules/engine.js';
import { percent } from '../util/format.js';
import type { ReportContext } from './context.js';
import { summarize } from './diagnose-json.js';

const PLAIN = { head: [] as string[], border: [] as string[] };

/** The terminal report of `fdleak diagnose`: header, fds by kind, sockets by state, ranked findings. */
export function diagnoseTable(snapshot: Snapshot, findings: readonly Finding[], skipped: readonly SkippedRule[], ctx: ReportContext): string {
  const c = new Chalk({ level: ctx.color ? 1 : 0 });
  const p = snapshot.processes[0]!;
  const s = summarize(snapshot, p);
  const out: string[] = [];
  const soft = p.fdLimit?.soft;
  const limitText = soft === undefined ? 'limit unknown' : soft === 'unlimited' ? 'no limit' : `${p.fdCount} of ${soft} (${percent(p.fdCount, soft)})`;
  out.push(c.bold(`pid ${p.pid} ${p.command}`) + (p.cmdline ? c.dim(`  ${p.cmdline.slice(0, 100)}`) : ''));
  out.push(`fds: ${limitText}${p.fdLimit ? `, hard limit ${p.fdLimit.hard}` : ''}   netns: ${p.netns ?? 'unknown'}   threads: ${p.threads ?? '?'}`);
  out.push('');

  const kinds = new Table({ head: ['fds by kind', 'count'], style: PLAIN, colAligns: ['left', 'right'] });
  for (const [kind, n] of Object.entries(s.fds.byKind)) if (n > 0) kinds.push([kind, n]);
  const states = new Table({ head: ['sockets by state', 'count'], style: PLAIN, colAligns: ['left', 'right'] });
  for (const [state, n] of Object.entries(s.sockets.byState)) states.push([state, n]);
  if (s.sockets.orphans > 0) states.push([c.yellow('in no table (orphan)'), s.sockets.orphans]);
  out.push(sideBySide(kinds.toString(), states.toString()));
  out.push('');

  if (findings.length === 0) {
    out.push(c.green('no findings: nothing here looks like a leak'));
  } else {
    out.push(c.bold(`${findings.length} finding${findings.length === 1 ? '' : 's'}, worst first`));
    findings.forEach((f, i) => {
      out.push('');
      out.push(`${i + 1}. ${badge(c, f.severity)} ${c.bold(f.rule)}  ${f.message}` + (f.confidence === 'low' ? c.dim(` [low confidence: ${f.confidenceReason ?? ''}]`) : ''));
      if (f.evidence.length > 0) out.push(indent(evidenceTable(f), 3));
      out.push(indent(c.dim(wrap(`why: ${f.advice}`, 96)), 3));
    });
  }
  const notes = [...skipped.map((r) => `rule ${r.rule} skipped: ${r.reason}`), ...snapshot.warnings];
  if (notes.length > 0) {
    out.push('');
    for (const n of notes) out.push(c.yellow(`note: ${n}`));
  }
  return `${out.join('\n')}\n`;
}

function badge(c: InstanceType<typeof Chalk>, severity: Severity): string {
  const text = severity.toUpperCase();
  return severity === 'critical' ? c.red.bold(text) : severity === 'warning' ? c.yellow.bold(text) : c.cyan(text);
}

/** Evidence rows as a table whose columns are the union of their keys, in first-seen order. */
export function evidenceTable(f: Finding): string {
  const keys: string[] = [];
  for (const row of f.evidence) for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
  const table = new Table({ head: keys, style: PLAIN });
  for (const row of f.evidence) table.push(keys.map((k) => (row[k] === null || row[k] === undefined ? '-' : String(row[k]))));
  return table.toString();
}

function sideBySide(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const width = Math.max(...left.map(visibleLength));
  const rows = Math.max(left.length, right.length);
  const out: string[] = [];
  for (let i = 0; i < rows; i++) out.push(`${(left[i] ?? '').padEnd(width + (left[i] ?? '').length - visibleLength(left[i] ?? ''))}   ${right[i] ?? ''}`.trimEnd());
  return out.join('\n');
}

function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}

function indent(text: string, n: number): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

function wrap(text: string, width: number): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line.length + w.length + 1 > width && line !== '') { lines.push(line); line = w; }
    else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n    ');
}
