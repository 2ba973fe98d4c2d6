import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import type { Finding, Severity } from '../model/finding.js';
import { safeText } from '../util/safe-text.js';

/** cli-table3 options: no colours of its own (ours follow --color), no lines between rows. */
export const TABLE_STYLE = { head: [] as string[], border: [] as string[] };
export const COMPACT = { chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } };

/** Findings shown in full in a terminal report; the rest are counted by rule (--json lists all). */
export const SHOWN_FINDINGS = 20;

/**
 * Ranked findings as text: severity badge, rule, message, evidence table, advice. `partial`: the line
 * that replaces "nothing here looks like a leak" when the input let only part be judged. A rule's advice is
 * printed once, at its first finding; past `limit` findings, the rest are counted by rule: a
 * capture of thousands of processes gives hundreds of findings that say the same thing.
 */
export function renderFindings(c: ChalkInstance, findings: readonly Finding[], showPid: boolean, limit = SHOWN_FINDINGS, partial?: string): string[] {
  const out: string[] = [];
  if (findings.length === 0) {
    // Over a partial view (rules that could not run, owners not named), say what was judged.
    out.push(partial === undefined ? c.green('no findings: nothing here looks like a leak') : c.yellow(wrap(partial, 96)));
    return out;
  }
  out.push(c.bold(`${findings.length} finding${findings.length === 1 ? '' : 's'}, worst first`));
  const advised = new Map<string, number>(); // rule -> the finding number that carries its advice
  findings.slice(0, limit).forEach((f, i) => {
    out.push('');
    const who = showPid ? (f.pid === null ? 'no pid: ' : `pid ${f.pid} ${safeText(f.command ?? '')}: `) : '';
    out.push(`${i + 1}. ${badge(c, f.severity)} ${c.bold(f.rule)}  ${who}${safeText(f.message)}`);
    if (f.confidence === 'low') out.push(indent(c.dim(`low confidence: ${safeText(f.confidenceReason ?? 'the input cannot prove it')}`), 3));
    if (f.evidence.length > 0) out.push(indent(evidenceTable(f), 3));
    const first = advised.get(f.rule);
    if (first === undefined) {
      advised.set(f.rule, i + 1);
      out.push(indent(c.dim(wrap(`why: ${safeText(f.advice)}`, 96)), 3));
    } else {
      out.push(indent(c.dim(`why: see finding ${first}`), 3));
    }
  });
  if (findings.length > limit) {
    const rest = new Map<string, number>();
    for (const f of findings.slice(limit)) rest.set(f.rule, (rest.get(f.rule) ?? 0) + 1);
    const byRule = [...rest].map(([rule, n]) => `${rule} ${n}`).join(', ');
    out.push('', c.dim(`(+${findings.length - limit} more finding${findings.length - limit === 1 ? '' : 's'}: ${byRule}; --json lists all)`));
  }
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
  return textTable(keys.map(safeText), f.evidence.map((row) => keys.map((k) => (row[k] === null || row[k] === undefined ? '-' : safeText(String(row[k]))))));
}

/** Printable ASCII: a character a column wide, as string-width (cli-table3's measure) counts it. */
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * A table (`head` a row of names, rows as long) as cli-table3 draws it with TABLE_STYLE and
 * COMPACT: box lines, a space each side of a cell, cells padded to their column's widest, no line
 * between rows. Drawn here when every cell is printable ASCII (its width its length); any other
 * text (wide or combining characters, colours) goes to cli-table3, which measures it. Why: the 21
 * tables of an analyze of a large capture (the processes, 20 findings' evidence) cost cli-table3
 * ~35 ms of CPU, cold (a cell object each, options merged per cell, string-width), this ~1 ms.
 */
export function textTable(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const n = head.length;
  const lines = [head, ...rows].map((row) => row.map((cell) => `${cell}`));
  if (n === 0 || !lines.every((row) => row.length === n && row.every((cell) => PRINTABLE.test(cell)))) {
    const table = new Table({ head: [...head], style: TABLE_STYLE, ...COMPACT });
    for (const row of rows) table.push([...row]);
    return table.toString();
  }
  const widths = head.map((_, i) => lines.reduce((w, row) => Math.max(w, row[i]!.length), 0));
  const rule = (left: string, mid: string, right: string): string => left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right;
  return [
    rule('┌', '┬', '┐'),
    ...lines.map((row) => `│${row.map((cell, i) => ` ${cell.padEnd(widths[i]!)} `).join('│')}│`),
    rule('└', '┴', '┘'),
  ].join('\n');
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
