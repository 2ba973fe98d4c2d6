import { Chalk } from 'chalk';
import type { Finding } from '../../model/finding.js';
import type { GroupCount, ProcessDiff, SnapshotDiff } from '../../model/diff.js';
import type { ReportContext } from '../context.js';
import { escapeFinding } from '../escape-finding.js';
import { renderFindings } from '../findings-text.js';
import { safeText } from '../../util/safe-text.js';

export interface DiffFiles {
  a: { path: string; takenAt: string };
  b: { path: string; takenAt: string };
}

/** Groups listed per side in the terminal report; --json lists all. */
const SHOWN_GROUPS = 10;

/** The terminal report of `fdleak diff`: per process what appeared and vanished, then fd-growth. */
export function diffText(files: DiffFiles, d: SnapshotDiff, findings: readonly Finding[], ctx: ReportContext): string {
  const c = new Chalk({ level: ctx.color ? 1 : 0 });
  const out: string[] = [];
  out.push(`a: ${safeText(files.a.path)}  taken ${files.a.takenAt}`);
  out.push(`b: ${safeText(files.b.path)}  taken ${files.b.takenAt}  (${describeGap(d.seconds)})`);
  out.push('');
  const compared = d.processes.filter((p) => p.status === 'compared' || p.status === 'restarted');
  if (compared.length === 0) {
    out.push(c.yellow(`the snapshots have no process in common: a holds ${holds(d.processes, 'a')}; b holds ${holds(d.processes, 'b')}`));
  }
  for (const p of d.processes) out.push(...processLines(c, p));
  out.push('');
  out.push(...renderFindings(c, findings.map(escapeFinding), true));
  return `${out.join('\n')}\n`;
}

function describeGap(seconds: number): string {
  if (seconds === 0) return 'the same moment';
  return seconds > 0 ? `${seconds.toFixed(1)} s later` : `${(-seconds).toFixed(1)} s EARLIER: the files are in the wrong order`;
}

function who(pid: number, command: string): string {
  return `pid ${pid} ${safeText(command)}`;
}

function holds(list: ProcessDiff[], side: 'a' | 'b'): string {
  const ps = list.flatMap((p) => (side === 'a' ? (p.status === 'only-a' ? [p.a] : []) : (p.status === 'only-b' ? [p.b] : [])));
  return ps.length === 0 ? 'no process' : ps.map((p) => who(p.pid, p.command)).join(', ');
}

function processLines(c: InstanceType<typeof Chalk>, p: ProcessDiff): string[] {
  switch (p.status) {
    case 'only-a': return [`${c.bold(who(p.a.pid, p.a.command))}: only in a (it exited, or b was not taken of it)`];
    case 'only-b': return [`${c.bold(who(p.b.pid, p.b.command))}: only in b (it started later, or a was not taken of it)`];
    case 'restarted':
      return [`${c.bold(`pid ${p.b.pid}`)}: ${c.yellow('not the same process')} (restarted, or the pid reused): ${safeText(p.a.command)} started at tick ${p.a.startTime} in a, ${safeText(p.b.command)} started at tick ${p.b.startTime} in b; not compared`];
    case 'compared': {
      const change = p.b.fdCount - p.a.fdCount;
      const out = [`${c.bold(who(p.b.pid, p.b.command))}: ${p.a.fdCount} -> ${p.b.fdCount} fds (${change >= 0 ? '+' : ''}${change})`];
      if (p.a.startTime === null || p.b.startTime === null) out.push('  start time unknown in a snapshot: taken to be the same process by its pid alone');
      if (!p.fdRecords) {
        out.push('  which fds appeared and vanished is unknown: a snapshot lacks the fd table of this process');
      } else if (p.appeared.length === 0 && p.vanished.length === 0) {
        out.push('  no change: the same fds in both');
      } else {
        out.push(...groupLines('appeared', '+', p.appeared), ...groupLines('vanished', '-', p.vanished));
      }
      return out;
    }
  }
}

function groupLines(what: string, sign: string, groups: GroupCount[]): string[] {
  if (groups.length === 0) return [];
  const total = groups.reduce((n, g) => n + g.count, 0);
  const out = [`  ${what} (${total}):`];
  for (const g of groups.slice(0, SHOWN_GROUPS)) out.push(`    ${sign}${g.count}\t${g.kind}: ${safeText(g.group)}`);
  if (groups.length > SHOWN_GROUPS) out.push(`    (+${groups.length - SHOWN_GROUPS} more groups; --json lists all)`);
  return out;
}
