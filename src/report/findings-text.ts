import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { Finding, Severity } from '../model/finding.js';

/** cli-table3 options: no colours of its own (ours follow --color), no lines between rows. */
export const TABLE_STYLE = { head: [] as string[], border: [] as string[] };
export const COMPACT = { chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } };

/** Ranked findings as text: severity badge, rule, message, evidence table, advice. */
export function renderFindings(c: ChalkInstance, findings: readonly Finding[], showPid: boolean): string[] {
  const out: string[] = [];
  if (findings.length === 0) {
    out.push(c.green('no findings: nothing here looks like a leak'));
    return out;
  }
  out.push(c.bold(`${findings.length} finding${findings.length === 1 ? '' : 's'}, worst first`));
  findings.forEach((f, i) => {
    out.push('');
    const who = showPid ? (f.pid === null ? 'no owner: ' : `pid ${f.pid} ${f.command ?? ''}: `) : '';
    out.push(`${i + 1}. ${badge(c, f.severity)} ${c.bold(f.rule)}  ${who}${f.message}`);
    if (f.confidence === 'low') out.push(indent(c.dim(`low confidence: ${f.confidenceReason ?? 'the input cannot prove it'}`), 3));
    if (f.evidence.length > 0) out.push(indent(evidenceTable(f), 3));
    out.push(indent(c.dim(wrap(`why: ${f.advice}`, 96)), 3));
  });
  return out;
}

function badge(c: ChalkInstance, severity: Severity): string {
  const text = severity.toUpperCase();
  return severity === 'critical' ? c.red.bold(text) : severity === 'warning' ? c.yellow.bold(text) : c.cyan(text);
}

/** Evidence rows as a table whose columns are the union of their keys, in first-seen order. */
export function evidenceTable(f: Finding): string {
  const keys: string[] = [];
  for (const row of f.evidence) for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
  const table = new Table({ head: keys, style: TABLE_STYLE, ...COMPACT });
  for (const row of f.evidence) table.push(keys.map((k) => (row[k] === null || row[k] === undefined ? '-' : String(row[k]))));
  return table.toString();
}

export function indent(text: string, n: number): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

/** Greedy word wrap; continuation lines indented under the first word. */
export function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line.length + w.length + 1 > width && line !== '') { lines.push(line); line = w; }
    else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n     ');
}
